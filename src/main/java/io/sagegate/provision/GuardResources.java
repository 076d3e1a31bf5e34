package io.sagegate.provision;

import static io.sagegate.provision.Cfn.getAtt;
import static io.sagegate.provision.Cfn.ordered;
import static io.sagegate.provision.Cfn.output;
import static io.sagegate.provision.Cfn.resource;
import static io.sagegate.provision.Iam.allow;

import io.sagegate.provision.Iam.Stmt;
import io.sagegate.provision.ProvisionSpec.Activity;
import io.sagegate.provision.ProvisionSpec.Persona;
import io.sagegate.provision.guard.ApprovedPairs;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The detective guard of one environment: an EventBridge rule on CloudTrail's SageMaker deployments
 * feeding the GuardHandler Lambda, its minimal role, and the (role, model) pairs it approves.
 */
final class GuardResources {

  /** AWS no longer creates java17 functions; the guard jar is built for Java 17 and runs here. */
  static final String RUNTIME = "java21";

  private final StackContext c;

  GuardResources(StackContext c) {
    this.c = c;
  }

  /**
   * What the guard approves: endpoint managers and the approved callers (such as the role that
   * deploys the stack, so the guard never removes what the stack itself creates), each with every
   * (model, image) of the spec, the model by its name in this environment.
   */
  ApprovedPairs approvedPairs() {
    List<ApprovedPairs.Model> models =
        c.spec.models().stream()
            .map(x -> new ApprovedPairs.Model(c.sageMaker.modelName(x.name()), x.image()))
            .toList();
    Map<String, List<ApprovedPairs.Model>> m = new TreeMap<>();
    for (Persona p : c.spec.personas()) {
      if (p.effectiveActivities().contains(Activity.MANAGE_ENDPOINTS)) {
        m.put(c.arns.role(c.roleName(p.name())), models);
      }
    }
    for (String caller : c.e.guard().approvedCallers()) {
      m.put(caller, models);
    }
    return new ApprovedPairs(m);
  }

  void addTo(Map<String, Object> resources, Map<String, Object> outputs) {
    String fn = c.stack + "-guard";
    String logGroup = c.arns.logGroup("/aws/lambda/" + fn);
    List<Map<String, Object>> st =
        Iam.list(
            allow(
                "InspectDeployments",
                List.of("sagemaker:DescribeEndpointConfig"),
                List.of(c.arns.sageMaker("endpoint-config", "*"))),
            allow(
                "InspectModels",
                List.of("sagemaker:DescribeModel"),
                List.of(c.arns.sageMaker("model", "*"))),
            allow(
                "RemoveUnapprovedEndpoints",
                List.of("sagemaker:DeleteEndpoint"),
                List.of(c.arns.sageMaker("endpoint", "*"))),
            allow(
                "RemoveUnapprovedEndpointConfigs",
                List.of("sagemaker:DeleteEndpointConfig"),
                List.of(c.arns.sageMaker("endpoint-config", "*"))),
            allow(
                "StopUnapprovedTransformJobs",
                List.of("sagemaker:StopTransformJob"),
                List.of(c.arns.sageMaker("transform-job", "*"))),
            allow("OwnLogGroup", List.of("logs:CreateLogGroup"), List.of(logGroup + ":*")),
            allow(
                "OwnLogStreams",
                List.of("logs:CreateLogStream", "logs:PutLogEvents"),
                List.of(logGroup + ":log-stream:*")));
    Map<String, Object> trust =
        Iam.document(
            Iam.list(
                new Stmt("LambdaService", "Allow", List.of("sts:AssumeRole"), null)
                    .principal("Service", "lambda.amazonaws.com")
                    .when("StringEquals", "aws:SourceAccount", c.e.account())));
    resources.put(
        "GuardRole",
        c.role(
            "guard", c.roleName("guard"), trust, StackContext.policies(st), List.of(), List.of()));

    Map<String, Object> props = new LinkedHashMap<>();
    props.put("FunctionName", fn);
    props.put(
        "Description",
        "sagegate guard: removes SageMaker deployments of unapproved (role, model) pairs");
    props.put("Runtime", RUNTIME);
    props.put("Handler", TemplateRenderer.GUARD_HANDLER);
    props.put("Role", getAtt("GuardRole", "Arn"));
    props.put(
        "Code", ordered("S3Bucket", c.e.guard().codeBucket(), "S3Key", c.e.guard().codeKey()));
    props.put("MemorySize", 512);
    props.put("Timeout", 60);
    props.put(
        "Environment",
        ordered("Variables", ordered(ApprovedPairs.ENV_VAR, approvedPairs().toJson())));
    props.put("Tags", c.tags(Map.of()));
    resources.put("GuardFunction", resource("AWS::Lambda::Function", props));

    Map<String, Object> pattern = new LinkedHashMap<>();
    pattern.put("source", List.of("aws.sagemaker"));
    pattern.put("detail-type", List.of("AWS API Call via CloudTrail"));
    pattern.put(
        "detail",
        ordered(
            "eventSource",
            List.of("sagemaker.amazonaws.com"),
            "eventName",
            List.of("CreateEndpoint", "CreateEndpointConfig", "CreateTransformJob")));
    Map<String, Object> rule = new LinkedHashMap<>();
    rule.put("Name", c.stack + "-guard");
    rule.put("Description", "SageMaker deployments, for the sagegate guard");
    rule.put("EventPattern", pattern);
    rule.put("State", "ENABLED");
    rule.put("Targets", List.of(ordered("Id", "guard", "Arn", getAtt("GuardFunction", "Arn"))));
    resources.put("GuardRule", resource("AWS::Events::Rule", rule));

    Map<String, Object> perm = new LinkedHashMap<>();
    perm.put("FunctionName", Cfn.ref("GuardFunction"));
    perm.put("Action", "lambda:InvokeFunction");
    perm.put("Principal", "events.amazonaws.com");
    perm.put("SourceArn", getAtt("GuardRule", "Arn"));
    perm.put("SourceAccount", c.e.account());
    resources.put("GuardPermission", resource("AWS::Lambda::Permission", perm));
    outputs.put("GuardFunctionArn", output(getAtt("GuardFunction", "Arn"), "The guard Lambda"));
  }
}
