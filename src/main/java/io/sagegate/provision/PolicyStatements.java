package io.sagegate.provision;

import static io.sagegate.provision.Iam.allow;

import io.sagegate.provision.Iam.Stmt;
import io.sagegate.provision.ProvisionSpec.Activity;
import io.sagegate.provision.ProvisionSpec.EndpointConfigSpec;
import io.sagegate.provision.ProvisionSpec.Model;
import io.sagegate.provision.ProvisionSpec.Persona;
import io.sagegate.provision.ProvisionSpec.Trust;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The IAM statements of one environment's roles: personas, execution roles, invoke roles, and the
 * trust policies. Every create action carries its constraints with a {@code Null} condition beside
 * each {@code ForAllValues} one (IAM's advice: {@code ForAllValues} is true when the request omits
 * the key), so a request cannot escape a constraint by leaving its key out.
 */
final class PolicyStatements {

  private final StackContext c;

  PolicyStatements(StackContext c) {
    this.c = c;
  }

  /**
   * An invoke role's grants, one statement per action set; conditioned on {@code aws:SourceVpce}
   * when the environment has the private SageMaker Runtime endpoint ({@code vpce} not null).
   */
  List<Map<String, Object>> invoke(Map<String, Set<String>> endpoints, @Nullable Object vpce) {
    Map<Set<String>, List<String>> byActions = new LinkedHashMap<>();
    endpoints.forEach(
        (ep, actions) ->
            byActions
                .computeIfAbsent(actions, k -> new ArrayList<>())
                .add(c.arns.sageMaker("endpoint", ep)));
    List<Map<String, Object>> out = new ArrayList<>();
    int i = 0;
    for (Map.Entry<Set<String>, List<String>> g : byActions.entrySet()) {
      Stmt s =
          allow(
              "InvokeAllowedEndpoints" + (i++ == 0 ? "" : String.valueOf(i)),
              List.copyOf(g.getKey()),
              g.getValue());
      if (vpce != null) {
        s.when("StringEquals", PrivateEndpoint.SOURCE_VPCE, vpce);
      }
      out.add(s.build());
    }
    return out;
  }

  List<Map<String, Object>> persona(Persona p, List<Model> runs) {
    List<Map<String, Object>> out = new ArrayList<>();
    String env = c.env;
    List<String> endpointArns =
        c.spec.endpoints().stream().map(x -> c.arns.sageMaker("endpoint", x.name())).toList();
    List<String> modelArns =
        c.sageMaker.modelNames().stream().map(x -> c.arns.sageMaker("model", x)).toList();
    List<String> configArns =
        c.sageMaker.configNames().stream()
            .map(x -> c.arns.sageMaker("endpoint-config", x))
            .toList();
    for (Activity a : p.effectiveActivities()) {
      switch (a) {
        case INVOKE_ENDPOINTS -> {
          if (!endpointArns.isEmpty()) {
            out.add(
                allow(
                        "InvokeEndpoints",
                        List.of(
                            "sagemaker:InvokeEndpoint",
                            "sagemaker:InvokeEndpointAsync",
                            "sagemaker:DescribeEndpoint"),
                        endpointArns)
                    .when("StringEquals", "aws:ResourceTag/env", env)
                    .build());
          }
        }
        case MANAGE_MODELS -> {
          if (modelArns.isEmpty()) {
            break;
          }
          Stmt create =
              allow("CreateApprovedModels", List.of("sagemaker:CreateModel"), modelArns)
                  .when("StringEquals", "aws:RequestTag/env", env);
          if (p.vpc()) {
            create
                .when("ForAllValues:StringEquals", "sagemaker:VpcSubnets", c.e.subnets())
                .when(
                    "ForAllValues:StringEquals",
                    "sagemaker:VpcSecurityGroupIds",
                    c.e.securityGroups())
                .when("Null", "sagemaker:VpcSubnets", "false")
                .when("Null", "sagemaker:VpcSecurityGroupIds", "false");
          }
          out.add(create.build());
          out.add(
              allow("TagApprovedModels", List.of("sagemaker:AddTags"), modelArns)
                  .when("StringEquals", "aws:RequestTag/env", env)
                  .build());
          out.add(
              allow(
                      "ReadAndDeleteModels",
                      List.of("sagemaker:DescribeModel", "sagemaker:DeleteModel"),
                      modelArns)
                  .when("StringEquals", "aws:ResourceTag/env", env)
                  .build());
          List<String> exec = executionRoleArns();
          if (!exec.isEmpty()) {
            out.add(
                allow("PassExecutionRoles", List.of("iam:PassRole"), exec)
                    .when("StringEquals", "iam:PassedToService", "sagemaker.amazonaws.com")
                    .build());
          }
        }
        case MANAGE_ENDPOINTS -> {
          if (configArns.isEmpty()) {
            break;
          }
          List<String> instanceConfigs = new ArrayList<>();
          List<String> serverlessConfigs = new ArrayList<>();
          Set<String> instanceTypes = new LinkedHashSet<>();
          for (EndpointConfigSpec ec : c.spec.endpointConfigs()) {
            (SageMakerResources.hasInstances(ec) ? instanceConfigs : serverlessConfigs)
                .add(c.arns.sageMaker("endpoint-config", c.sageMaker.configName(ec.name())));
            ec.variants().stream()
                .filter(v -> v.instanceType() != null)
                .forEach(v -> instanceTypes.add(v.instanceType()));
          }
          if (!instanceConfigs.isEmpty()) {
            Stmt s =
                allow(
                        "CreateApprovedEndpointConfigs",
                        List.of("sagemaker:CreateEndpointConfig"),
                        instanceConfigs)
                    .when("ForAllValues:ArnEquals", "sagemaker:ModelArn", modelArns)
                    .when(
                        "ForAllValues:StringEquals",
                        "sagemaker:InstanceTypes",
                        List.copyOf(instanceTypes))
                    .when("StringEquals", "aws:RequestTag/env", env)
                    .when("Null", "sagemaker:ModelArn", "false")
                    .when("Null", "sagemaker:InstanceTypes", "false");
            if (p.kms() && c.e.volumeKmsKey() != null) {
              s.when("ArnEquals", "sagemaker:VolumeKmsKey", c.e.volumeKmsKey())
                  .when("Null", "sagemaker:VolumeKmsKey", "false");
            }
            out.add(s.build());
          }
          if (!serverlessConfigs.isEmpty()) {
            // Serverless names only: a request that names instance types here is not serverless.
            out.add(
                allow(
                        "CreateApprovedServerlessConfigs",
                        List.of("sagemaker:CreateEndpointConfig"),
                        serverlessConfigs)
                    .when("ForAllValues:ArnEquals", "sagemaker:ModelArn", modelArns)
                    .when("StringEquals", "aws:RequestTag/env", env)
                    .when("Null", "sagemaker:ModelArn", "false")
                    .when("Null", "sagemaker:InstanceTypes", "true")
                    .build());
          }
          List<String> both = new ArrayList<>(endpointArns);
          both.addAll(configArns);
          if (!endpointArns.isEmpty()) {
            out.add(
                allow("CreateApprovedEndpoints", List.of("sagemaker:CreateEndpoint"), both)
                    .when("StringEquals", "aws:RequestTag/env", env)
                    .build());
          }
          out.add(
              allow("TagApprovedEndpoints", List.of("sagemaker:AddTags"), both)
                  .when("StringEquals", "aws:RequestTag/env", env)
                  .build());
          out.add(
              allow(
                      "OperateEndpoints",
                      List.of(
                          "sagemaker:DescribeEndpoint",
                          "sagemaker:DescribeEndpointConfig",
                          "sagemaker:UpdateEndpoint",
                          "sagemaker:DeleteEndpoint",
                          "sagemaker:DeleteEndpointConfig"),
                      both)
                  .when("StringEquals", "aws:ResourceTag/env", env)
                  .build());
          if (p.kms() && c.e.volumeKmsKey() != null) {
            out.add(
                allow(
                        "GrantVolumeKeyToSageMaker",
                        List.of("kms:CreateGrant", "kms:DescribeKey"),
                        List.of(c.e.volumeKmsKey()))
                    .when("StringEquals", "kms:ViaService", c.arns.via("sagemaker"))
                    .build());
          }
        }
        case READ_LOGS_METRICS -> {
          List<String> groups = new ArrayList<>();
          for (ProvisionSpec.Endpoint ep : c.spec.endpoints()) {
            String g = c.arns.logGroup("/aws/sagemaker/Endpoints/" + ep.name());
            groups.add(g);
            groups.add(g + ":log-stream:*");
          }
          if (!groups.isEmpty()) {
            out.add(
                allow(
                        "ReadEndpointLogs",
                        List.of(
                            "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"),
                        groups)
                    .build());
          }
          // CloudWatch metric reads support no resource-level permissions.
          out.add(
              allow(
                      "ReadMetrics",
                      List.of(
                          "cloudwatch:GetMetricData",
                          "cloudwatch:GetMetricStatistics",
                          "cloudwatch:ListMetrics"),
                      List.of("*"))
                  .build());
        }
        case S3_READ -> out.addAll(s3Read("Read", p.s3Read(), p.kms()));
        case S3_WRITE -> out.addAll(s3Write("Write", p.s3Write(), p.kms()));
        case RUN_MODEL -> out.addAll(runModel(runs));
        default -> throw new IllegalStateException(a.toString());
      }
    }
    return out;
  }

  private List<Map<String, Object>> s3Read(String sid, List<String> prefixes, boolean kms) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (prefixes.isEmpty()) {
      return out;
    }
    out.add(
        allow(
                sid + "Objects",
                List.of("s3:GetObject"),
                prefixes.stream().map(Arns::s3Objects).toList())
            .build());
    Map<String, List<String>> byBucket = new TreeMap<>();
    prefixes.forEach(
        s ->
            byBucket
                .computeIfAbsent(Arns.s3Bucket(s), k -> new ArrayList<>())
                .add(Arns.s3(s).key() + "*"));
    int i = 0;
    for (Map.Entry<String, List<String>> b : byBucket.entrySet()) {
      out.add(
          allow(
                  sid + "List" + (i++ == 0 ? "" : String.valueOf(i)),
                  List.of("s3:ListBucket"),
                  List.of(b.getKey()))
              .when("StringLike", "s3:prefix", b.getValue())
              .build());
    }
    if (kms && c.e.dataKmsKey() != null) {
      out.add(
          allow(sid + "Decrypt", List.of("kms:Decrypt"), List.of(c.e.dataKmsKey()))
              .when("StringEquals", "kms:ViaService", c.arns.via("s3"))
              .build());
    }
    return out;
  }

  private List<Map<String, Object>> s3Write(String sid, List<String> prefixes, boolean kms) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (prefixes.isEmpty()) {
      return out;
    }
    Stmt put =
        allow(
            sid + "Objects",
            List.of("s3:PutObject", "s3:AbortMultipartUpload"),
            prefixes.stream().map(Arns::s3Objects).toList());
    if (kms && c.e.dataKmsKey() != null) {
      put.when("StringEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id", c.e.dataKmsKey())
          .when("Null", "s3:x-amz-server-side-encryption-aws-kms-key-id", "false");
    }
    out.add(put.build());
    if (kms && c.e.dataKmsKey() != null) {
      out.add(
          allow(
                  sid + "Encrypt",
                  List.of("kms:GenerateDataKey", "kms:Decrypt"),
                  List.of(c.e.dataKmsKey()))
              .when("StringEquals", "kms:ViaService", c.arns.via("s3"))
              .build());
    }
    return out;
  }

  /** What a model's container needs at run time: its image, its artifacts, logs, metrics, ENIs. */
  List<Map<String, Object>> runModel(List<Model> models) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (models.isEmpty()) {
      return out;
    }
    List<String> repos =
        models.stream()
            .map(m -> Arns.ecrRepository(m.image()))
            .filter(r -> r != null)
            .distinct()
            .toList();
    if (!repos.isEmpty()) {
      // GetAuthorizationToken supports no resource-level permissions.
      out.add(allow("EcrToken", List.of("ecr:GetAuthorizationToken"), List.of("*")).build());
      out.add(
          allow(
                  "PullImage",
                  List.of(
                      "ecr:BatchGetImage",
                      "ecr:GetDownloadUrlForLayer",
                      "ecr:BatchCheckLayerAvailability"),
                  repos)
              .build());
    }
    List<String> artifacts =
        models.stream().map(Model::modelDataUrl).filter(u -> u != null).distinct().toList();
    if (!artifacts.isEmpty()) {
      out.add(
          allow(
                  "ReadModelArtifacts",
                  List.of("s3:GetObject"),
                  artifacts.stream().map(Arns::s3Objects).toList())
              .build());
      if (c.e.dataKmsKey() != null) {
        out.add(
            allow("DecryptModelArtifacts", List.of("kms:Decrypt"), List.of(c.e.dataKmsKey()))
                .when("StringEquals", "kms:ViaService", c.arns.via("s3"))
                .build());
      }
    }
    Set<String> names = new LinkedHashSet<>();
    models.forEach(m -> names.add(m.name()));
    List<String> captures =
        c.spec.endpointConfigs().stream()
            .filter(
                ec ->
                    ec.dataCapture() != null
                        && ec.variants().stream().anyMatch(v -> names.contains(v.model())))
            .map(ec -> Arns.s3Objects(ec.dataCapture().destination()))
            .distinct()
            .toList();
    if (!captures.isEmpty()) {
      out.add(allow("WriteDataCapture", List.of("s3:PutObject"), captures).build());
      if (c.e.dataKmsKey() != null) {
        out.add(
            allow("EncryptDataCapture", List.of("kms:GenerateDataKey"), List.of(c.e.dataKmsKey()))
                .when("StringEquals", "kms:ViaService", c.arns.via("s3"))
                .build());
      }
    }
    String logs = c.arns.logGroup("/aws/sagemaker/Endpoints/*");
    out.add(
        allow(
                "CreateEndpointLogs",
                List.of("logs:CreateLogGroup", "logs:DescribeLogStreams"),
                List.of(logs))
            .build());
    out.add(
        allow(
                "WriteEndpointLogs",
                List.of("logs:CreateLogStream", "logs:PutLogEvents"),
                List.of(logs + ":log-stream:*"))
            .build());
    // PutMetricData supports no resource-level permissions; the namespace condition scopes it.
    out.add(
        allow("PublishMetrics", List.of("cloudwatch:PutMetricData"), List.of("*"))
            .when("StringLike", "cloudwatch:namespace", "/aws/sagemaker/*")
            .build());
    if (models.stream().anyMatch(Model::inVpc)) {
      List<String> eniResources = new ArrayList<>();
      eniResources.add(c.arns.ec2("network-interface", "*"));
      c.e.subnets().forEach(s -> eniResources.add(c.arns.ec2("subnet", s)));
      c.e.securityGroups().forEach(s -> eniResources.add(c.arns.ec2("security-group", s)));
      out.add(
          allow("CreateEnisInApprovedSubnets", List.of("ec2:CreateNetworkInterface"), eniResources)
              .build());
      out.add(
          allow(
                  "ManageOwnEnis",
                  List.of(
                      "ec2:CreateNetworkInterfacePermission",
                      "ec2:DeleteNetworkInterface",
                      "ec2:DeleteNetworkInterfacePermission"),
                  List.of(c.arns.ec2("network-interface", "*")))
              .when(
                  "StringEquals",
                  "ec2:Subnet",
                  c.e.subnets().stream().map(s -> c.arns.ec2("subnet", s)).toList())
              .build());
      // EC2 Describe calls support no resource-level permissions.
      out.add(
          allow(
                  "DescribeNetwork",
                  List.of(
                      "ec2:DescribeNetworkInterfaces",
                      "ec2:DescribeVpcs",
                      "ec2:DescribeDhcpOptions",
                      "ec2:DescribeSubnets",
                      "ec2:DescribeSecurityGroups"),
                  List.of("*"))
              .build());
    }
    if (c.e.volumeKmsKey() != null) {
      out.add(
          allow(
                  "UseVolumeKey",
                  List.of("kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey"),
                  List.of(c.e.volumeKmsKey()))
              .when("StringEquals", "kms:ViaService", c.arns.via("sagemaker"))
              .build());
    }
    return out;
  }

  // ---------------------------------------------------------------- trust

  Map<String, Object> trust(Trust t) {
    if (t.aws() != null) {
      return Iam.document(
          Iam.list(
              new Stmt("TrustedPrincipal", "Allow", List.of("sts:AssumeRole"), null)
                  .principal("AWS", t.aws())));
    }
    // Validated on load: a trust names aws, or oidcProvider with subject.
    String provider = Objects.requireNonNull(t.oidcProvider(), "trust: aws or oidcProvider");
    String subject = Objects.requireNonNull(t.subject(), "trust: oidcProvider with subject");
    String host =
        provider.substring(provider.indexOf(":oidc-provider/") + ":oidc-provider/".length());
    return Iam.document(
        Iam.list(
            new Stmt(
                    "TrustedServiceAccount",
                    "Allow",
                    List.of("sts:AssumeRoleWithWebIdentity"),
                    null)
                .principal("Federated", provider)
                .when("StringEquals", host + ":sub", subject)
                .when("StringEquals", host + ":aud", "sts.amazonaws.com")));
  }

  Map<String, Object> invokeTrust(String gatewayRoleArn, String externalId) {
    return Iam.document(
        Iam.list(
            new Stmt("GatewayWithExternalId", "Allow", List.of("sts:AssumeRole"), null)
                .principal("AWS", gatewayRoleArn)
                .when("StringEquals", "sts:ExternalId", externalId),
            new Stmt(
                    "GatewaySessionTagsAndSourceIdentity",
                    "Allow",
                    List.of("sts:TagSession", "sts:SetSourceIdentity"),
                    null)
                .principal("AWS", gatewayRoleArn)));
  }

  Map<String, Object> executionTrust() {
    return Iam.document(
        Iam.list(
            new Stmt("SageMakerInThisAccount", "Allow", List.of("sts:AssumeRole"), null)
                .principal("Service", "sagemaker.amazonaws.com")
                .when("StringEquals", "aws:SourceAccount", c.e.account())
                .when("ArnLike", "aws:SourceArn", c.arns.anySageMaker())));
  }

  private List<String> executionRoleArns() {
    Set<String> out = new LinkedHashSet<>();
    for (Model m : c.spec.models()) {
      if (m.executionRoleArn() != null) {
        out.add(m.executionRoleArn());
      } else if (m.executionRole() != null) {
        out.add(c.arns.role(c.roleName(m.executionRole())));
      } else {
        out.add(c.arns.role(c.roleName("exec-" + m.name())));
      }
    }
    return List.copyOf(out);
  }
}
