package io.sagegate.provision;

import static io.sagegate.provision.Cfn.getAtt;
import static io.sagegate.provision.Cfn.ordered;
import static io.sagegate.provision.Cfn.output;
import static io.sagegate.provision.Cfn.ref;
import static io.sagegate.provision.Cfn.resource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The private path to SageMaker Runtime, for an environment whose spec names a VPC ({@code vpcId}):
 * an interface VPC endpoint for {@code com.amazonaws.REGION.sagemaker.runtime} (private DNS on) in
 * the environment's subnets, behind a security group that admits HTTPS only from the gateway's pods
 * (their security groups or CIDRs), with an endpoint policy that lets only the gateway's invoke
 * roles invoke the spec's endpoints. The invoke roles' grants are conditioned on {@code
 * aws:SourceVpce} equal to this endpoint, so session credentials taken out of the cluster are
 * useless elsewhere.
 */
final class PrivateEndpoint {

  static final String SOURCE_VPCE = "aws:SourceVpce";
  static final String ENDPOINT = "SageMakerRuntimeVpcEndpoint";
  static final String SECURITY_GROUP = "SageMakerRuntimeVpcEndpointSecurityGroup";

  /** The invoke actions the endpoint policy allows, and only these. */
  static final List<String> ACTIONS =
      List.of(
          "sagemaker:InvokeEndpoint",
          "sagemaker:InvokeEndpointWithResponseStream",
          "sagemaker:InvokeEndpointAsync");

  private final StackContext c;

  PrivateEndpoint(StackContext c) {
    this.c = c;
  }

  boolean declared() {
    return c.e.vpcId() != null;
  }

  /**
   * The value {@code aws:SourceVpce} must equal: this endpoint's id; null when none is declared.
   */
  @Nullable Object sourceVpce() {
    return declared() ? ref(ENDPOINT) : null;
  }

  void addTo(
      Map<String, Object> resources, Map<String, Object> outputs, List<String> invokeRoleArns) {
    if (!declared()) {
      return;
    }
    List<Object> ingress = new ArrayList<>();
    for (String sg : c.e.gatewaySecurityGroups()) {
      ingress.add(httpsFromGatewayPods("SourceSecurityGroupId", sg));
    }
    for (String cidr : c.e.gatewayCidrs()) {
      ingress.add(httpsFromGatewayPods("CidrIp", cidr));
    }
    Map<String, Object> sg = new LinkedHashMap<>();
    sg.put(
        "GroupDescription",
        "sagegate " + c.env + ": HTTPS to SageMaker Runtime from the gateway pods only");
    sg.put("VpcId", c.e.vpcId());
    sg.put("SecurityGroupIngress", ingress);
    sg.put("Tags", c.tags(Map.of()));
    resources.put(SECURITY_GROUP, resource("AWS::EC2::SecurityGroup", sg));

    List<String> endpoints =
        c.spec.endpoints().stream().map(x -> c.arns.sageMaker("endpoint", x.name())).toList();
    Map<String, Object> statement = new LinkedHashMap<>();
    statement.put("Sid", "GatewayInvokeRolesOnSpecEndpoints");
    statement.put("Effect", "Allow");
    statement.put("Principal", "*");
    statement.put("Action", ACTIONS);
    statement.put("Resource", endpoints);
    statement.put("Condition", ordered("ArnEquals", ordered("aws:PrincipalArn", invokeRoleArns)));
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("ServiceName", "com.amazonaws." + c.e.region() + ".sagemaker.runtime");
    props.put("VpcEndpointType", "Interface");
    props.put("VpcId", c.e.vpcId());
    props.put("SubnetIds", c.e.subnets());
    props.put("SecurityGroupIds", List.of(ref(SECURITY_GROUP)));
    props.put("PrivateDnsEnabled", true);
    props.put("PolicyDocument", Iam.document(List.of(statement)));
    resources.put(ENDPOINT, resource("AWS::EC2::VPCEndpoint", props));

    outputs.put(
        "SageMakerRuntimeVpcEndpointId",
        output(
            ref(ENDPOINT),
            "The SageMaker Runtime VPC endpoint (aws:SourceVpce of the invoke roles)"));
    // DnsEntries are "HOSTED_ZONE:DNS_NAME"; the first is the regional name.
    Map<String, Object> dns =
        ordered(
            "Fn::Select",
            List.of(
                1,
                ordered(
                    "Fn::Split",
                    List.of(
                        ":", ordered("Fn::Select", List.of(0, getAtt(ENDPOINT, "DnsEntries")))))));
    outputs.put("SageMakerRuntimeVpcEndpointDns", output(dns, "The VPC endpoint's own DNS name"));
    outputs.put(
        "SageMakerRuntimeEndpointUrl",
        output(
            ordered("Fn::Join", List.of("", List.of("https://", dns))),
            "For the gateway's aws.sagemakerRuntimeEndpoint setting"));
  }

  /**
   * The one ingress rule the endpoint's security group has, HTTPS from the gateway's pods, for one
   * source: {@code sourceKey} is SourceSecurityGroupId or CidrIp.
   */
  private static Map<String, Object> httpsFromGatewayPods(String sourceKey, String source) {
    return ordered(
        "IpProtocol",
        "tcp",
        "FromPort",
        443,
        "ToPort",
        443,
        sourceKey,
        source,
        "Description",
        "HTTPS from the gateway pods");
  }
}
