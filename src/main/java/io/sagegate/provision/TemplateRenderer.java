package io.sagegate.provision;

import static io.sagegate.provision.Cfn.getAtt;
import static io.sagegate.provision.Cfn.output;
import static io.sagegate.provision.Iam.allow;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagegate.config.GatewayConfig;
import io.sagegate.provision.ProvisionSpec.Model;
import io.sagegate.provision.ProvisionSpec.Persona;
import io.sagegate.provision.ProvisionSpec.Trust;
import io.sagegate.provision.guard.ApprovedPairs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Renders one environment of a {@link ProvisionSpec} as a CloudFormation template, assembling the
 * parts: roles ({@link PolicyStatements}: persona, execution, gateway, and the invoke roles derived
 * from the gateway's rules by {@link InvokeGrants}), SageMaker resources ({@link
 * SageMakerResources}), the private SageMaker Runtime endpoint ({@link PrivateEndpoint}) and the
 * guard ({@link GuardResources}). Every policy names resource ARNs literally ({@link Arns}), so the
 * policies can be checked statically and compared with the rules ({@link IamDiff}).
 */
public final class TemplateRenderer {

  /**
   * Template Metadata key naming what a role is for: persona, execution, gateway, invoke, guard.
   */
  public static final String ROLE_KIND = "SagegateRoleKind";

  public static final String GUARD_HANDLER =
      "io.sagegate.provision.guard.GuardHandler::handleRequest";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final StackContext c;
  private final GatewayConfig gatewayConfig;
  private final PolicyStatements statements;
  private final GuardResources guard;
  private final PrivateEndpoint privateEndpoint;
  private final List<String> warnings = new ArrayList<>();

  public TemplateRenderer(ProvisionSpec spec, String env, GatewayConfig gatewayConfig) {
    this.c = new StackContext(spec, env);
    this.gatewayConfig = gatewayConfig;
    this.statements = new PolicyStatements(c);
    this.guard = new GuardResources(c);
    this.privateEndpoint = new PrivateEndpoint(c);
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
    ProvisionSpec spec = c.spec;

    // Execution roles: compute personas, and one generated role per model that names none.
    for (Persona p : spec.personas()) {
      if ("compute".equals(p.kind())) {
        List<Model> runs =
            spec.models().stream().filter(m -> p.name().equals(m.executionRole())).toList();
        resources.put(
            id("Role", p.name()),
            c.role(
                "execution",
                c.roleName(p.name()),
                statements.executionTrust(),
                StackContext.policies(statements.persona(p, runs)),
                p.managedPolicies(),
                List.of()));
        outputs.put(
            id("RoleArn", p.name()),
            output(getAtt(id("Role", p.name()), "Arn"), "Execution role " + p.name()));
      }
    }
    for (Model m : spec.models()) {
      if (m.executionRoleArn() == null && m.executionRole() == null) {
        resources.put(
            id("ExecRole", m.name()),
            c.role(
                "execution",
                c.roleName("exec-" + m.name()),
                statements.executionTrust(),
                StackContext.policies(statements.runModel(List.of(m))),
                List.of(),
                List.of()));
      }
    }
    // Persona roles.
    for (Persona p : spec.personas()) {
      if (!"compute".equals(p.kind())) {
        Trust trust =
            p.trustedBy() != null
                ? p.trustedBy()
                : new Trust("arn:aws:iam::" + c.e.account() + ":root", null, null);
        resources.put(
            id("Role", p.name()),
            c.role(
                "persona",
                c.roleName(p.name()),
                statements.trust(trust),
                StackContext.policies(statements.persona(p, List.of())),
                p.managedPolicies(),
                List.of()));
        outputs.put(
            id("RoleArn", p.name()),
            output(getAtt(id("Role", p.name()), "Arn"), "Persona role " + p.name()));
      }
    }
    // Invoke roles from the rules, and the gateway role that assumes them.
    InvokeGrants grants = new InvokeGrants(gatewayConfig);
    String gatewayRoleName = spec.gateway().roleName() + "-" + c.env;
    String gatewayRoleArn = c.arns.role(gatewayRoleName);
    String externalId = externalId();
    List<String> invokeArns = new ArrayList<>();
    for (Map.Entry<String, String> r : grants.roleArns().entrySet()) {
      String name = r.getKey();
      checkAccount(name, r.getValue());
      invokeArns.add(c.arns.role(name));
      List<Map<String, Object>> st =
          statements.invoke(grants.endpointsFor(name), privateEndpoint.sourceVpce());
      if (grants.bearerRoles().contains(name)) {
        // SageMaker's OpenAI-compatible path: the bearer token needs this, on no resource but *.
        st = new ArrayList<>(st);
        st.add(
            allow("CallWithBearerToken", List.of(InvokeGrants.CALL_WITH_BEARER_TOKEN), List.of("*"))
                .build());
      }
      Map<String, Object> res =
          c.role(
              "invoke",
              name,
              statements.invokeTrust(gatewayRoleArn, externalId),
              StackContext.policies(st),
              List.of(),
              List.of(id("Role", "gateway")));
      resources.put(id("InvokeRole", name), res);
      outputs.put(
          id("InvokeRoleArn", name),
          output(getAtt(id("InvokeRole", name), "Arn"), "Invoke role " + name));
    }
    List<Map<String, Object>> gw = new ArrayList<>();
    if (!invokeArns.isEmpty()) {
      gw.add(
          allow(
                  "AssumeInvokeRoles",
                  List.of("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"),
                  invokeArns)
              .build());
    }
    resources.put(
        id("Role", "gateway"),
        c.role(
            "gateway",
            gatewayRoleName,
            statements.trust(spec.gateway().trustedBy()),
            StackContext.policies(gw),
            List.of(),
            List.of()));
    outputs.put(
        "GatewayRoleArn", output(getAtt(id("Role", "gateway"), "Arn"), "The gateway's own role"));
    outputs.put(
        "ExternalId", output(externalId, "ExternalId the gateway presents to its invoke roles"));

    c.sageMaker.addTo(resources, outputs);
    for (String ep : grantedEndpoints(grants)) {
      if (spec.endpoints().stream().noneMatch(x -> GatewayConfig.key(x.name()).equals(ep))) {
        warnings.add(
            "endpoint '"
                + ep
                + "' is granted to an invoke role by the rules but not provisioned by this spec");
      }
    }
    privateEndpoint.addTo(resources, outputs, invokeArns);
    guard.addTo(resources, outputs);

    Map<String, Object> template = new LinkedHashMap<>();
    template.put("AWSTemplateFormatVersion", "2010-09-09");
    template.put(
        "Description",
        "sagegate "
            + c.env
            + ": SageMaker endpoints, least-privilege roles and the guard (generated by `sagegate provision render`; do not edit)");
    template.put("Resources", resources);
    template.put("Outputs", outputs);
    return JSON.valueToTree(template);
  }

  /** The (role, model) pairs the guard approves: endpoint managers and the approved callers. */
  public ApprovedPairs approvedPairs() {
    return guard.approvedPairs();
  }

  /**
   * The SageMaker name of the spec's model {@code name} in this environment ({@code name-<hash>}).
   */
  public String modelName(String name) {
    return c.sageMaker.modelName(name);
  }

  /** The SageMaker name of the spec's endpoint configuration {@code name} in this environment. */
  public String endpointConfigName(String name) {
    return c.sageMaker.configName(name);
  }

  private String externalId() {
    if (c.spec.gateway().externalId() != null) {
      return c.spec.gateway().externalId();
    }
    if (gatewayConfig.aws().externalId() != null) {
      return gatewayConfig.aws().externalId();
    }
    throw new IllegalArgumentException(
        "gateway.externalId: required (or aws.externalId in the gateway configuration): invoke roles require it");
  }

  private void checkAccount(String name, String arn) {
    String[] parts = arn.split(":");
    if (parts.length > 4 && !parts[4].equals(c.e.account())) {
      warnings.add(
          "invoke role "
              + name
              + ": the gateway configuration names it in account "
              + parts[4]
              + ", environment "
              + c.env
              + " is account "
              + c.e.account()
              + " (the role is created in "
              + c.e.account()
              + ")");
    }
  }

  private static Set<String> grantedEndpoints(InvokeGrants g) {
    Set<String> out = new LinkedHashSet<>();
    g.all().forEach(x -> out.add(x.endpoint()));
    return out;
  }

  /** A CloudFormation logical id: alphanumeric, from a prefix and a hyphenated name. */
  public static String id(String prefix, String name) {
    return Cfn.id(prefix, name);
  }
}
