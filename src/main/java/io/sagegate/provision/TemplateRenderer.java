package io.sagegate.provision;

import static io.sagegate.provision.Iam.allow;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagegate.config.GatewayConfig;
import io.sagegate.provision.Iam.Stmt;
import io.sagegate.provision.ProvisionSpec.Activity;
import io.sagegate.provision.ProvisionSpec.EndpointConfigSpec;
import io.sagegate.provision.ProvisionSpec.Environment;
import io.sagegate.provision.ProvisionSpec.Model;
import io.sagegate.provision.ProvisionSpec.Persona;
import io.sagegate.provision.ProvisionSpec.Trust;
import io.sagegate.provision.ProvisionSpec.Variant;
import io.sagegate.provision.guard.ApprovedPairs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Renders one environment of a {@link ProvisionSpec} as a CloudFormation template: SageMaker
 * models, endpoint configurations and endpoints (VPC, KMS, tags), persona roles, execution roles,
 * the gateway's role, the invoke roles derived from the gateway's rules ({@link InvokeGrants}),
 * and the guard (an EventBridge rule on CloudTrail feeding the GuardHandler Lambda). Every
 * policy names resource ARNs literally (account and region from the environment), so the policies
 * can be checked statically and compared with the rules ({@link IamDiff}).
 */
public final class TemplateRenderer {

  /** Template Metadata key naming what a role is for: persona, execution, gateway, invoke, guard. */
  public static final String ROLE_KIND = "SagegateRoleKind";
  public static final String GUARD_HANDLER = "io.sagegate.provision.guard.GuardHandler::handleRequest";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ProvisionSpec spec;
  private final String env;
  private final Environment e;
  private final GatewayConfig gatewayConfig;
  private final String stack;
  private final List<String> warnings = new ArrayList<>();

  public TemplateRenderer(ProvisionSpec spec, String env, GatewayConfig gatewayConfig) {
    this.spec = spec;
    this.env = env;
    this.e = spec.environment(env);
    this.gatewayConfig = gatewayConfig;
    this.stack = stackName(spec, env);
  }

  public static String stackName(ProvisionSpec spec, String env) {
    return spec.stackName() + "-" + env;
  }

  /** Problems that do not stop rendering (e.g. an invoke role ARN in another account). */
  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  /** The template as a Jackson tree. */
  public ObjectNode render() {
    Map<String, Object> resources = new LinkedHashMap<>();
    Map<String, Object> outputs = new LinkedHashMap<>();

    // Execution roles: compute personas, and one generated role per model that names none.
    for (Persona p : spec.personas()) {
      if ("compute".equals(p.kind())) {
        List<Model> runs = spec.models().stream().filter(m -> p.name().equals(m.executionRole())).toList();
        resources.put(id("Role", p.name()), role("execution", roleName(p.name()), executionTrust(),
            policies(personaStatements(p, runs)), p.managedPolicies(), List.of()));
        outputs.put(id("RoleArn", p.name()), output(getAtt(id("Role", p.name()), "Arn"), "Execution role " + p.name()));
      }
    }
    for (Model m : spec.models()) {
      if (m.executionRoleArn() == null && m.executionRole() == null) {
        List<Map<String, Object>> st = runModelStatements(List.of(m));
        resources.put(id("ExecRole", m.name()), role("execution", roleName("exec-" + m.name()),
            executionTrust(), policies(st), List.of(), List.of()));
      }
    }
    // Persona roles.
    for (Persona p : spec.personas()) {
      if (!"compute".equals(p.kind())) {
        resources.put(id("Role", p.name()), role("persona", roleName(p.name()),
            trust(p.trustedBy() != null ? p.trustedBy() : new Trust("arn:aws:iam::" + e.account() + ":root", null, null)),
            policies(personaStatements(p, List.of())), p.managedPolicies(), List.of()));
        outputs.put(id("RoleArn", p.name()), output(getAtt(id("Role", p.name()), "Arn"), "Persona role " + p.name()));
      }
    }
    // Invoke roles from the rules, and the gateway role that assumes them.
    InvokeGrants grants = new InvokeGrants(gatewayConfig);
    String gatewayRoleName = spec.gateway().roleName() + "-" + env;
    String gatewayRoleArn = roleArn(gatewayRoleName);
    String externalId = externalId();
    List<String> invokeArns = new ArrayList<>();
    for (Map.Entry<String, String> r : grants.roleArns().entrySet()) {
      String name = r.getKey();
      checkAccount(name, r.getValue());
      invokeArns.add(roleArn(name));
      List<Map<String, Object>> st = invokeStatements(grants.endpointsFor(name));
      if (grants.bearerRoles().contains(name)) {
        // SageMaker's OpenAI-compatible path: the bearer token needs this, on no resource but *.
        st = new ArrayList<>(st);
        st.add(allow("CallWithBearerToken", List.of(InvokeGrants.CALL_WITH_BEARER_TOKEN), List.of("*")).build());
      }
      Map<String, Object> res = role("invoke", name, invokeTrust(gatewayRoleArn, externalId),
          policies(st), List.of(), List.of(id("Role", "gateway")));
      resources.put(id("InvokeRole", name), res);
      outputs.put(id("InvokeRoleArn", name), output(getAtt(id("InvokeRole", name), "Arn"), "Invoke role " + name));
    }
    List<Map<String, Object>> gw = new ArrayList<>();
    if (!invokeArns.isEmpty()) {
      gw.add(allow("AssumeInvokeRoles",
          List.of("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"), invokeArns).build());
    }
    resources.put(id("Role", "gateway"), role("gateway", gatewayRoleName, trust(spec.gateway().trustedBy()),
        policies(gw), List.of(), List.of()));
    outputs.put("GatewayRoleArn", output(getAtt(id("Role", "gateway"), "Arn"), "The gateway's own role"));
    outputs.put("ExternalId", output(externalId, "ExternalId the gateway presents to its invoke roles"));

    // SageMaker resources.
    for (Model m : spec.models()) {
      Map<String, Object> props = new LinkedHashMap<>();
      props.put("ModelName", m.name());
      props.put("ExecutionRoleArn", executionRoleRef(m));
      Map<String, Object> container = new LinkedHashMap<>();
      container.put("Image", m.image());
      if (m.modelDataUrl() != null) {
        container.put("ModelDataUrl", m.modelDataUrl());
      }
      props.put("PrimaryContainer", container);
      if (m.inVpc()) {
        props.put("VpcConfig", ordered("Subnets", e.subnets(), "SecurityGroupIds", e.securityGroups()));
      }
      props.put("EnableNetworkIsolation", m.isolated());
      props.put("Tags", tags(Map.of()));
      resources.put(id("Model", m.name()), resource("AWS::SageMaker::Model", props));
      outputs.put(id("ModelName", m.name()), output(getAtt(id("Model", m.name()), "ModelName"), "Model " + m.name()));
    }
    for (EndpointConfigSpec c : spec.endpointConfigs()) {
      Map<String, Object> props = new LinkedHashMap<>();
      props.put("EndpointConfigName", c.name());
      List<Object> variants = new ArrayList<>();
      for (Variant v : c.variants()) {
        Map<String, Object> pv = new LinkedHashMap<>();
        pv.put("VariantName", v.name() == null ? "AllTraffic" : v.name());
        pv.put("ModelName", getAtt(id("Model", v.model()), "ModelName"));
        if (v.serverless() != null) {
          pv.put("ServerlessConfig", ordered("MemorySizeInMB", v.serverless().memoryMb(),
              "MaxConcurrency", v.serverless().maxConcurrency()));
        } else {
          pv.put("InstanceType", v.instanceType());
          pv.put("InitialInstanceCount", v.instanceCount() == null ? 1 : v.instanceCount());
          pv.put("InitialVariantWeight", v.weight() == null ? 1.0 : v.weight());
        }
        variants.add(pv);
      }
      props.put("ProductionVariants", variants);
      if (c.encrypted() && hasInstances(c) && e.volumeKmsKey() != null) {
        props.put("KmsKeyId", e.volumeKmsKey());
      }
      if (c.dataCapture() != null) {
        Map<String, Object> dc = new LinkedHashMap<>();
        dc.put("EnableCapture", true);
        dc.put("InitialSamplingPercentage", c.dataCapture().samplingPercentage() == null ? 100 : c.dataCapture().samplingPercentage());
        dc.put("DestinationS3Uri", c.dataCapture().destination());
        if (e.dataKmsKey() != null) {
          dc.put("KmsKeyId", e.dataKmsKey());
        }
        dc.put("CaptureOptions", List.of(ordered("CaptureMode", "Input"), ordered("CaptureMode", "Output")));
        props.put("DataCaptureConfig", dc);
      }
      props.put("Tags", tags(c.tags()));
      resources.put(id("EndpointConfig", c.name()), resource("AWS::SageMaker::EndpointConfig", props));
    }
    for (ProvisionSpec.Endpoint ep : spec.endpoints()) {
      Map<String, Object> props = new LinkedHashMap<>();
      props.put("EndpointName", ep.name());
      props.put("EndpointConfigName", getAtt(id("EndpointConfig", ep.config()), "EndpointConfigName"));
      props.put("Tags", tags(ep.tags()));
      resources.put(id("Endpoint", ep.name()), resource("AWS::SageMaker::Endpoint", props));
      outputs.put(id("EndpointName", ep.name()), output(getAtt(id("Endpoint", ep.name()), "EndpointName"), "Endpoint " + ep.name()));
    }
    for (String ep : grantedEndpoints(grants)) {
      if (spec.endpoints().stream().noneMatch(x -> GatewayConfig.key(x.name()).equals(ep))) {
        warnings.add("endpoint '" + ep + "' is granted to an invoke role by the rules but not provisioned by this spec");
      }
    }
    guard(resources, outputs);

    Map<String, Object> template = new LinkedHashMap<>();
    template.put("AWSTemplateFormatVersion", "2010-09-09");
    template.put("Description", "sagegate " + env + ": SageMaker endpoints, least-privilege roles and the guard (generated by `sagegate provision render`; do not edit)");
    template.put("Resources", resources);
    template.put("Outputs", outputs);
    return JSON.valueToTree(template);
  }

  /** The (role, model) pairs the guard approves: endpoint managers and the approved callers. */
  public ApprovedPairs approvedPairs() {
    List<String> models = spec.models().stream().map(Model::name).toList();
    Map<String, List<String>> m = new TreeMap<>();
    for (Persona p : spec.personas()) {
      if (p.effectiveActivities().contains(Activity.MANAGE_ENDPOINTS)) {
        m.put(roleArn(roleName(p.name())), models);
      }
    }
    for (String caller : e.guard().approvedCallers()) {
      m.put(caller, models);
    }
    return new ApprovedPairs(m);
  }

  // ---------------------------------------------------------------- guard

  private void guard(Map<String, Object> resources, Map<String, Object> outputs) {
    String fn = stack + "-guard";
    String smPrefix = "arn:aws:sagemaker:" + e.region() + ":" + e.account() + ":";
    String logGroup = "arn:aws:logs:" + e.region() + ":" + e.account() + ":log-group:/aws/lambda/" + fn;
    List<Map<String, Object>> st = Iam.list(
        allow("InspectDeployments", List.of("sagemaker:DescribeEndpointConfig"), List.of(smPrefix + "endpoint-config/*")),
        allow("InspectModels", List.of("sagemaker:DescribeModel"), List.of(smPrefix + "model/*")),
        allow("RemoveUnapprovedEndpoints", List.of("sagemaker:DeleteEndpoint"), List.of(smPrefix + "endpoint/*")),
        allow("RemoveUnapprovedEndpointConfigs", List.of("sagemaker:DeleteEndpointConfig"), List.of(smPrefix + "endpoint-config/*")),
        allow("StopUnapprovedTransformJobs", List.of("sagemaker:StopTransformJob"), List.of(smPrefix + "transform-job/*")),
        allow("OwnLogGroup", List.of("logs:CreateLogGroup"), List.of(logGroup + ":*")),
        allow("OwnLogStreams", List.of("logs:CreateLogStream", "logs:PutLogEvents"), List.of(logGroup + ":log-stream:*")));
    Map<String, Object> trust = Iam.document(Iam.list(
        new Stmt("LambdaService", "Allow", List.of("sts:AssumeRole"), null)
            .principal("Service", "lambda.amazonaws.com")
            .when("StringEquals", "aws:SourceAccount", e.account())));
    resources.put("GuardRole", role("guard", roleName("guard"), trust, policies(st), List.of(), List.of()));

    Map<String, Object> props = new LinkedHashMap<>();
    props.put("FunctionName", fn);
    props.put("Description", "sagegate guard: removes SageMaker deployments of unapproved (role, model) pairs");
    props.put("Runtime", "java17");
    props.put("Handler", GUARD_HANDLER);
    props.put("Role", getAtt("GuardRole", "Arn"));
    props.put("Code", ordered("S3Bucket", e.guard().codeBucket(), "S3Key", e.guard().codeKey()));
    props.put("MemorySize", 512);
    props.put("Timeout", 60);
    props.put("Environment", ordered("Variables", ordered(ApprovedPairs.ENV_VAR, approvedPairs().toJson())));
    props.put("Tags", tags(Map.of()));
    resources.put("GuardFunction", resource("AWS::Lambda::Function", props));

    Map<String, Object> pattern = new LinkedHashMap<>();
    pattern.put("source", List.of("aws.sagemaker"));
    pattern.put("detail-type", List.of("AWS API Call via CloudTrail"));
    pattern.put("detail", ordered("eventSource", List.of("sagemaker.amazonaws.com"),
        "eventName", List.of("CreateEndpoint", "CreateEndpointConfig", "CreateTransformJob")));
    Map<String, Object> rule = new LinkedHashMap<>();
    rule.put("Name", stack + "-guard");
    rule.put("Description", "SageMaker deployments, for the sagegate guard");
    rule.put("EventPattern", pattern);
    rule.put("State", "ENABLED");
    rule.put("Targets", List.of(ordered("Id", "guard", "Arn", getAtt("GuardFunction", "Arn"))));
    resources.put("GuardRule", resource("AWS::Events::Rule", rule));

    Map<String, Object> perm = new LinkedHashMap<>();
    perm.put("FunctionName", ordered("Ref", "GuardFunction"));
    perm.put("Action", "lambda:InvokeFunction");
    perm.put("Principal", "events.amazonaws.com");
    perm.put("SourceArn", getAtt("GuardRule", "Arn"));
    perm.put("SourceAccount", e.account());
    resources.put("GuardPermission", resource("AWS::Lambda::Permission", perm));
    outputs.put("GuardFunctionArn", output(getAtt("GuardFunction", "Arn"), "The guard Lambda"));
  }

  // ---------------------------------------------------------------- statements

  private List<Map<String, Object>> invokeStatements(Map<String, Set<String>> endpoints) {
    // Group endpoints by their action set, one statement per set.
    Map<Set<String>, List<String>> byActions = new LinkedHashMap<>();
    endpoints.forEach((ep, actions) -> byActions.computeIfAbsent(actions, k -> new ArrayList<>()).add(smArn("endpoint", ep)));
    List<Map<String, Object>> out = new ArrayList<>();
    int i = 0;
    for (Map.Entry<Set<String>, List<String>> g : byActions.entrySet()) {
      out.add(allow("InvokeAllowedEndpoints" + (i++ == 0 ? "" : String.valueOf(i)),
          List.copyOf(g.getKey()), g.getValue()).build());
    }
    return out;
  }

  private List<Map<String, Object>> personaStatements(Persona p, List<Model> runs) {
    List<Map<String, Object>> out = new ArrayList<>();
    List<String> endpointArns = spec.endpoints().stream().map(x -> smArn("endpoint", x.name())).toList();
    List<String> modelArns = spec.models().stream().map(x -> smArn("model", x.name())).toList();
    List<String> configArns = spec.endpointConfigs().stream().map(x -> smArn("endpoint-config", x.name())).toList();
    for (Activity a : p.effectiveActivities()) {
      switch (a) {
        case INVOKE_ENDPOINTS -> {
          if (!endpointArns.isEmpty()) {
            out.add(allow("InvokeEndpoints", List.of("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync", "sagemaker:DescribeEndpoint"), endpointArns)
                .when("StringEquals", "aws:ResourceTag/env", env).build());
          }
        }
        case MANAGE_MODELS -> {
          if (modelArns.isEmpty()) {
            break;
          }
          Stmt create = allow("CreateApprovedModels", List.of("sagemaker:CreateModel"), modelArns)
              .when("StringEquals", "aws:RequestTag/env", env);
          if (p.vpc()) {
            create.when("ForAllValues:StringEquals", "sagemaker:VpcSubnets", e.subnets())
                .when("ForAllValues:StringEquals", "sagemaker:VpcSecurityGroupIds", e.securityGroups())
                .when("Null", "sagemaker:VpcSubnets", "false");
          }
          out.add(create.build());
          out.add(allow("TagApprovedModels", List.of("sagemaker:AddTags"), modelArns)
              .when("StringEquals", "aws:RequestTag/env", env).build());
          out.add(allow("ReadAndDeleteModels", List.of("sagemaker:DescribeModel", "sagemaker:DeleteModel"), modelArns)
              .when("StringEquals", "aws:ResourceTag/env", env).build());
          List<String> exec = executionRoleArns();
          if (!exec.isEmpty()) {
            out.add(allow("PassExecutionRoles", List.of("iam:PassRole"), exec)
                .when("StringEquals", "iam:PassedToService", "sagemaker.amazonaws.com").build());
          }
        }
        case MANAGE_ENDPOINTS -> {
          if (configArns.isEmpty()) {
            break;
          }
          List<String> instanceConfigs = new ArrayList<>();
          List<String> serverlessConfigs = new ArrayList<>();
          Set<String> instanceTypes = new LinkedHashSet<>();
          for (EndpointConfigSpec c : spec.endpointConfigs()) {
            (hasInstances(c) ? instanceConfigs : serverlessConfigs).add(smArn("endpoint-config", c.name()));
            c.variants().stream().filter(v -> v.instanceType() != null).forEach(v -> instanceTypes.add(v.instanceType()));
          }
          if (!instanceConfigs.isEmpty()) {
            Stmt s = allow("CreateApprovedEndpointConfigs", List.of("sagemaker:CreateEndpointConfig"), instanceConfigs)
                .when("ForAllValues:ArnEquals", "sagemaker:ModelArn", modelArns)
                .when("ForAllValues:StringEquals", "sagemaker:InstanceTypes", List.copyOf(instanceTypes))
                .when("StringEquals", "aws:RequestTag/env", env);
            if (p.kms() && e.volumeKmsKey() != null) {
              s.when("ArnEquals", "sagemaker:VolumeKmsKey", e.volumeKmsKey());
            }
            out.add(s.build());
          }
          if (!serverlessConfigs.isEmpty()) {
            out.add(allow("CreateApprovedServerlessConfigs", List.of("sagemaker:CreateEndpointConfig"), serverlessConfigs)
                .when("ForAllValues:ArnEquals", "sagemaker:ModelArn", modelArns)
                .when("StringEquals", "aws:RequestTag/env", env).build());
          }
          List<String> both = new ArrayList<>(endpointArns);
          both.addAll(configArns);
          if (!endpointArns.isEmpty()) {
            out.add(allow("CreateApprovedEndpoints", List.of("sagemaker:CreateEndpoint"), both)
                .when("StringEquals", "aws:RequestTag/env", env).build());
          }
          out.add(allow("TagApprovedEndpoints", List.of("sagemaker:AddTags"), both)
              .when("StringEquals", "aws:RequestTag/env", env).build());
          out.add(allow("OperateEndpoints", List.of("sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig",
              "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint", "sagemaker:DeleteEndpointConfig"), both)
              .when("StringEquals", "aws:ResourceTag/env", env).build());
          if (p.kms() && e.volumeKmsKey() != null) {
            out.add(allow("GrantVolumeKeyToSageMaker", List.of("kms:CreateGrant", "kms:DescribeKey"), List.of(e.volumeKmsKey()))
                .when("StringEquals", "kms:ViaService", "sagemaker." + e.region() + ".amazonaws.com").build());
          }
        }
        case READ_LOGS_METRICS -> {
          List<String> groups = new ArrayList<>();
          for (ProvisionSpec.Endpoint ep : spec.endpoints()) {
            String g = "arn:aws:logs:" + e.region() + ":" + e.account() + ":log-group:/aws/sagemaker/Endpoints/" + ep.name();
            groups.add(g);
            groups.add(g + ":log-stream:*");
          }
          if (!groups.isEmpty()) {
            out.add(allow("ReadEndpointLogs", List.of("logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"), groups).build());
          }
          // CloudWatch metric reads support no resource-level permissions.
          out.add(allow("ReadMetrics", List.of("cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"), List.of("*")).build());
        }
        case S3_READ -> out.addAll(s3Read("Read", p.s3Read(), p.kms()));
        case S3_WRITE -> out.addAll(s3Write("Write", p.s3Write(), p.kms()));
        case RUN_MODEL -> out.addAll(runModelStatements(runs));
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
    out.add(allow(sid + "Objects", List.of("s3:GetObject"), prefixes.stream().map(TemplateRenderer::s3ObjectArn).toList()).build());
    Map<String, List<String>> byBucket = new TreeMap<>();
    prefixes.forEach(s -> byBucket.computeIfAbsent(bucket(s), k -> new ArrayList<>()).add(key(s) + "*"));
    int i = 0;
    for (Map.Entry<String, List<String>> b : byBucket.entrySet()) {
      out.add(allow(sid + "List" + (i++ == 0 ? "" : String.valueOf(i)), List.of("s3:ListBucket"), List.of("arn:aws:s3:::" + b.getKey()))
          .when("StringLike", "s3:prefix", b.getValue()).build());
    }
    if (kms && e.dataKmsKey() != null) {
      out.add(allow(sid + "Decrypt", List.of("kms:Decrypt"), List.of(e.dataKmsKey()))
          .when("StringEquals", "kms:ViaService", "s3." + e.region() + ".amazonaws.com").build());
    }
    return out;
  }

  private List<Map<String, Object>> s3Write(String sid, List<String> prefixes, boolean kms) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (prefixes.isEmpty()) {
      return out;
    }
    Stmt put = allow(sid + "Objects", List.of("s3:PutObject", "s3:AbortMultipartUpload"),
        prefixes.stream().map(TemplateRenderer::s3ObjectArn).toList());
    if (kms && e.dataKmsKey() != null) {
      put.when("StringEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id", e.dataKmsKey());
    }
    out.add(put.build());
    if (kms && e.dataKmsKey() != null) {
      out.add(allow(sid + "Encrypt", List.of("kms:GenerateDataKey", "kms:Decrypt"), List.of(e.dataKmsKey()))
          .when("StringEquals", "kms:ViaService", "s3." + e.region() + ".amazonaws.com").build());
    }
    return out;
  }

  /** What a model's container needs at run time: its image, its artifacts, logs, metrics, ENIs. */
  private List<Map<String, Object>> runModelStatements(List<Model> models) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (models.isEmpty()) {
      return out;
    }
    List<String> repos = models.stream().map(m -> ecrRepositoryArn(m.image())).filter(r -> r != null).distinct().toList();
    if (!repos.isEmpty()) {
      // GetAuthorizationToken supports no resource-level permissions.
      out.add(allow("EcrToken", List.of("ecr:GetAuthorizationToken"), List.of("*")).build());
      out.add(allow("PullImage", List.of("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"), repos).build());
    }
    List<String> artifacts = models.stream().map(Model::modelDataUrl).filter(u -> u != null).distinct().toList();
    if (!artifacts.isEmpty()) {
      out.add(allow("ReadModelArtifacts", List.of("s3:GetObject"), artifacts.stream().map(TemplateRenderer::s3ObjectArn).toList()).build());
      if (e.dataKmsKey() != null) {
        out.add(allow("DecryptModelArtifacts", List.of("kms:Decrypt"), List.of(e.dataKmsKey()))
            .when("StringEquals", "kms:ViaService", "s3." + e.region() + ".amazonaws.com").build());
      }
    }
    Set<String> names = new LinkedHashSet<>();
    models.forEach(m -> names.add(m.name()));
    List<String> captures = spec.endpointConfigs().stream()
        .filter(c -> c.dataCapture() != null && c.variants().stream().anyMatch(v -> names.contains(v.model())))
        .map(c -> s3ObjectArn(c.dataCapture().destination())).distinct().toList();
    if (!captures.isEmpty()) {
      out.add(allow("WriteDataCapture", List.of("s3:PutObject"), captures).build());
      if (e.dataKmsKey() != null) {
        out.add(allow("EncryptDataCapture", List.of("kms:GenerateDataKey"), List.of(e.dataKmsKey()))
            .when("StringEquals", "kms:ViaService", "s3." + e.region() + ".amazonaws.com").build());
      }
    }
    String logs = "arn:aws:logs:" + e.region() + ":" + e.account() + ":log-group:/aws/sagemaker/Endpoints/*";
    out.add(allow("CreateEndpointLogs", List.of("logs:CreateLogGroup", "logs:DescribeLogStreams"), List.of(logs)).build());
    out.add(allow("WriteEndpointLogs", List.of("logs:CreateLogStream", "logs:PutLogEvents"), List.of(logs + ":log-stream:*")).build());
    // PutMetricData supports no resource-level permissions; the namespace condition scopes it.
    out.add(allow("PublishMetrics", List.of("cloudwatch:PutMetricData"), List.of("*"))
        .when("StringLike", "cloudwatch:namespace", "/aws/sagemaker/*").build());
    if (models.stream().anyMatch(Model::inVpc)) {
      String ec2 = "arn:aws:ec2:" + e.region() + ":" + e.account() + ":";
      List<String> eniResources = new ArrayList<>();
      eniResources.add(ec2 + "network-interface/*");
      e.subnets().forEach(s -> eniResources.add(ec2 + "subnet/" + s));
      e.securityGroups().forEach(s -> eniResources.add(ec2 + "security-group/" + s));
      out.add(allow("CreateEnisInApprovedSubnets", List.of("ec2:CreateNetworkInterface"), eniResources).build());
      out.add(allow("ManageOwnEnis", List.of("ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
          "ec2:DeleteNetworkInterfacePermission"), List.of(ec2 + "network-interface/*"))
          .when("StringEquals", "ec2:Subnet", e.subnets().stream().map(s -> ec2 + "subnet/" + s).toList()).build());
      // EC2 Describe calls support no resource-level permissions.
      out.add(allow("DescribeNetwork", List.of("ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
          "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"), List.of("*")).build());
    }
    if (e.volumeKmsKey() != null) {
      out.add(allow("UseVolumeKey", List.of("kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey"), List.of(e.volumeKmsKey()))
          .when("StringEquals", "kms:ViaService", "sagemaker." + e.region() + ".amazonaws.com").build());
    }
    return out;
  }

  // ---------------------------------------------------------------- trust

  private Map<String, Object> trust(Trust t) {
    if (t.aws() != null) {
      return Iam.document(Iam.list(new Stmt("TrustedPrincipal", "Allow", List.of("sts:AssumeRole"), null)
          .principal("AWS", t.aws())));
    }
    String host = t.oidcProvider().substring(t.oidcProvider().indexOf(":oidc-provider/") + ":oidc-provider/".length());
    return Iam.document(Iam.list(new Stmt("TrustedServiceAccount", "Allow", List.of("sts:AssumeRoleWithWebIdentity"), null)
        .principal("Federated", t.oidcProvider())
        .when("StringEquals", host + ":sub", t.subject())
        .when("StringEquals", host + ":aud", "sts.amazonaws.com")));
  }

  private Map<String, Object> invokeTrust(String gatewayRoleArn, String externalId) {
    return Iam.document(Iam.list(
        new Stmt("GatewayWithExternalId", "Allow", List.of("sts:AssumeRole"), null)
            .principal("AWS", gatewayRoleArn)
            .when("StringEquals", "sts:ExternalId", externalId),
        new Stmt("GatewaySessionTagsAndSourceIdentity", "Allow", List.of("sts:TagSession", "sts:SetSourceIdentity"), null)
            .principal("AWS", gatewayRoleArn)));
  }

  private Map<String, Object> executionTrust() {
    return Iam.document(Iam.list(new Stmt("SageMakerInThisAccount", "Allow", List.of("sts:AssumeRole"), null)
        .principal("Service", "sagemaker.amazonaws.com")
        .when("StringEquals", "aws:SourceAccount", e.account())
        .when("ArnLike", "aws:SourceArn", "arn:aws:sagemaker:" + e.region() + ":" + e.account() + ":*")));
  }

  // ---------------------------------------------------------------- helpers

  private String externalId() {
    if (spec.gateway().externalId() != null) {
      return spec.gateway().externalId();
    }
    if (gatewayConfig.aws().externalId() != null) {
      return gatewayConfig.aws().externalId();
    }
    throw new IllegalArgumentException("gateway.externalId: required (or aws.externalId in the gateway configuration): invoke roles require it");
  }

  private void checkAccount(String name, String arn) {
    String[] parts = arn.split(":");
    if (parts.length > 4 && !parts[4].equals(e.account())) {
      warnings.add("invoke role " + name + ": the gateway configuration names it in account " + parts[4]
          + ", environment " + env + " is account " + e.account() + " (the role is created in " + e.account() + ")");
    }
  }

  private List<String> executionRoleArns() {
    Set<String> out = new LinkedHashSet<>();
    for (Model m : spec.models()) {
      if (m.executionRoleArn() != null) {
        out.add(m.executionRoleArn());
      } else if (m.executionRole() != null) {
        out.add(roleArn(roleName(m.executionRole())));
      } else {
        out.add(roleArn(roleName("exec-" + m.name())));
      }
    }
    return List.copyOf(out);
  }

  private Object executionRoleRef(Model m) {
    if (m.executionRoleArn() != null) {
      return m.executionRoleArn();
    }
    return getAtt(m.executionRole() != null ? id("Role", m.executionRole()) : id("ExecRole", m.name()), "Arn");
  }

  private static Set<String> grantedEndpoints(InvokeGrants g) {
    Set<String> out = new LinkedHashSet<>();
    g.all().forEach(x -> out.add(x.endpoint()));
    return out;
  }

  private static boolean hasInstances(EndpointConfigSpec c) {
    return c.variants().stream().anyMatch(v -> v.instanceType() != null);
  }

  private String roleName(String suffix) {
    String name = stack + "-" + suffix;
    if (name.length() > 64) {
      throw new IllegalArgumentException("role name '" + name + "' is longer than IAM's 64 characters: shorten stackName or the name");
    }
    return name;
  }

  private String roleArn(String name) {
    return "arn:aws:iam::" + e.account() + ":role/" + name;
  }

  private String smArn(String type, String name) {
    return "arn:aws:sagemaker:" + e.region() + ":" + e.account() + ":" + type + "/" + ProvisionSpec.lower(name);
  }

  static String s3ObjectArn(String s3Uri) {
    String rest = s3Uri.substring("s3://".length());
    return "arn:aws:s3:::" + rest + (rest.endsWith(".tar.gz") ? "" : "*");
  }

  static String bucket(String s3Uri) {
    String rest = s3Uri.substring("s3://".length());
    int slash = rest.indexOf('/');
    return slash < 0 ? rest : rest.substring(0, slash);
  }

  static String key(String s3Uri) {
    String rest = s3Uri.substring("s3://".length());
    int slash = rest.indexOf('/');
    return slash < 0 ? "" : rest.substring(slash + 1);
  }

  /** {@code ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST]} to the repository ARN. */
  static String ecrRepositoryArn(String image) {
    int slash = image.indexOf('/');
    if (slash < 0) {
      return null;
    }
    String[] host = image.substring(0, slash).split("\\.");
    if (host.length < 6 || !"dkr".equals(host[1]) || !"ecr".equals(host[2])) {
      return null;
    }
    String repo = image.substring(slash + 1);
    int at = repo.indexOf('@');
    if (at >= 0) {
      repo = repo.substring(0, at);
    }
    int colon = repo.lastIndexOf(':');
    if (colon >= 0) {
      repo = repo.substring(0, colon);
    }
    return "arn:aws:ecr:" + host[3] + ":" + host[0] + ":repository/" + repo;
  }

  private List<Object> tags(Map<String, String> extra) {
    Map<String, String> all = new TreeMap<>(e.tags());
    all.putAll(extra);
    all.put("env", env);
    List<Object> out = new ArrayList<>();
    all.forEach((k, v) -> out.add(ordered("Key", k, "Value", v)));
    return out;
  }

  private List<Object> policies(List<Map<String, Object>> statements) {
    if (statements.isEmpty()) {
      return List.of();
    }
    return List.of(ordered("PolicyName", "sagegate-least-privilege", "PolicyDocument", Iam.document(statements)));
  }

  private Map<String, Object> role(String kind, String name, Map<String, Object> trust,
      List<Object> policies, List<String> managed, List<String> dependsOn) {
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("RoleName", name);
    props.put("AssumeRolePolicyDocument", trust);
    if (!policies.isEmpty()) {
      props.put("Policies", policies);
    }
    if (!managed.isEmpty()) {
      props.put("ManagedPolicyArns", managed);
    }
    props.put("Tags", tags(Map.of()));
    Map<String, Object> r = resource("AWS::IAM::Role", props);
    r.put("Metadata", ordered(ROLE_KIND, kind));
    if (!dependsOn.isEmpty()) {
      r.put("DependsOn", dependsOn);
    }
    return r;
  }

  /** Map.of, in the order given: rendering the same spec twice gives the same bytes. */
  private static Map<String, Object> ordered(Object... keysAndValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }

  private static Map<String, Object> resource(String type, Map<String, Object> props) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("Type", type);
    r.put("Properties", props);
    return r;
  }

  private static Map<String, Object> getAtt(String logicalId, String attribute) {
    return ordered("Fn::GetAtt", List.of(logicalId, attribute));
  }

  private static Map<String, Object> output(Object value, String description) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("Description", description);
    o.put("Value", value);
    return o;
  }

  /** A CloudFormation logical id: alphanumeric, from a prefix and a hyphenated name. */
  static String id(String prefix, String name) {
    StringBuilder b = new StringBuilder(prefix);
    boolean upper = true;
    for (char c : name.toCharArray()) {
      if (Character.isLetterOrDigit(c) && c < 128) {
        b.append(upper ? Character.toUpperCase(c) : c);
        upper = false;
      } else {
        upper = true;
      }
    }
    return b.toString();
  }
}
