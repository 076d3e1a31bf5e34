package io.sagegate.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.auth.Caller;
import io.sagegate.authz.AccessRequest;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.authz.InputLocations;
import io.sagegate.authz.PolicyEngine;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.match.Cidr;
import io.sagegate.openai.OpenAiCall;
import io.sagegate.openai.OpenAiRoutes;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code explain}: a policy simulator, like IAM's. Given token claims and a request, prints the
 * decision the gateway would make, the rule that made it (or default-deny), the other rules that
 * matched and, for each rule that did not, the first part of it that failed. No token, no server.
 */
@Command(
    name = "explain",
    mixinStandardHelpOptions = true,
    // --claims and --endpoint are required, but checked in call() (exit 1 with a message naming
    // them), so the synopsis says so itself.
    customSynopsis = {
      "explain [-hV] [-c=FILE] --claims=JSON --endpoint=NAME [--path=PATH] [--action=ACTION]",
      "        [--source-ip=IP] [--target-variant=V] [--target-model=M] [--inference-component=C]",
      "        [--input-location=S3URI] [--log-format=text|json] [--log-level=LEVEL]"
    },
    exitCodeOnInvalidInput = 1,
    description = "Show the access decision for a caller's claims and a request, and why.",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:allowed", "1:bad input (claims, options or configuration)", "2:denied"})
public class ExplainCommand implements Callable<Integer> {

  public static final int ALLOWED = 0;
  public static final int BAD_INPUT = 1;
  public static final int DENIED = 2;

  private static final ObjectMapper JSON = new ObjectMapper();

  // picocli injects the spec before call().
  @SuppressWarnings("NullAway.Init")
  @Spec
  CommandSpec spec;

  // picocli sets the mixin before call().
  @SuppressWarnings("NullAway.Init")
  @Mixin
  ConfigFileOption config;

  @Option(
      names = "--claims",
      paramLabel = "JSON",
      description =
          "Required. The token's claims as a JSON object, e.g. '{\"sub\":\"bob\",\"groups\":[\"analysts\"]}'.")
  @Nullable String claims;

  @Option(
      names = "--endpoint",
      paramLabel = "NAME",
      description = "Required. The endpoint invoked.")
  @Nullable String endpoint;

  @Option(
      names = "--action",
      paramLabel = "ACTION",
      defaultValue = "invoke",
      description = "invoke, invoke-stream or invoke-async (default: ${DEFAULT-VALUE}).")
  @SuppressWarnings("NullAway.Init") // picocli sets its default value before call()
  String action;

  @Option(names = "--source-ip", paramLabel = "IP", description = "The caller's address.")
  @Nullable String sourceIp;

  @Option(
      names = "--target-variant",
      paramLabel = "V",
      description = "X-Amzn-SageMaker-Target-Variant.")
  @Nullable String targetVariant;

  @Option(
      names = "--target-model",
      paramLabel = "M",
      description = "X-Amzn-SageMaker-Target-Model.")
  @Nullable String targetModel;

  @Option(
      names = "--inference-component",
      paramLabel = "C",
      description = "X-Amzn-SageMaker-Inference-Component.")
  @Nullable String inferenceComponent;

  @Option(
      names = "--input-location",
      paramLabel = "S3URI",
      description =
          "X-Amzn-SageMaker-InputLocation of an invoke-async call, e.g. s3://bucket/in/x.json.")
  @Nullable String inputLocation;

  @Option(
      names = "--path",
      paramLabel = "PATH",
      description =
          "The request path instead of --endpoint, e.g. /endpoints/llm/openai/v1/chat/completions or "
              + "/endpoints/llm/inference-components/c1/openai/v1/chat/completions (the component from the path).")
  @Nullable String path;

  public ExplainCommand() {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      return explain(out, err);
    } finally {
      out.flush();
      err.flush();
    }
  }

  private int explain(PrintWriter out, PrintWriter err) {
    if (claims == null) {
      return bad(err, "--claims: required (the token's claims as a JSON object)");
    }
    OpenAiCall openAi = null;
    if (path != null) {
      String prefix = "/endpoints/";
      int slash = path.startsWith(prefix) ? path.indexOf('/', prefix.length()) : -1;
      String rest = slash < 0 ? "" : path.substring(slash + 1);
      try {
        openAi = slash < 0 ? null : OpenAiRoutes.parse(rest);
      } catch (IllegalArgumentException e) {
        return bad(err, "--path: " + e.getMessage());
      }
      if (openAi == null
          && !List.of("invocations", "invocations-response-stream", "async-invocations")
              .contains(rest)) {
        return bad(
            err,
            "--path: '"
                + path
                + "' is no operation of the gateway (/endpoints/{name}/invocations, ..."
                + "/openai/v1/chat/completions, .../inference-components/{c}/openai/v1/chat/completions, .../openai/v1/models)");
      }
      String named = path.substring(prefix.length(), slash);
      if (endpoint != null && !endpoint.equalsIgnoreCase(named)) {
        return bad(
            err,
            "--endpoint: '" + endpoint + "' differs from the endpoint in --path ('" + named + "')");
      }
      endpoint = named;
      if (openAi != null && inferenceComponent != null) {
        return bad(
            err,
            "--inference-component: the OpenAI-compatible path takes the component in --path, not the header");
      }
      if (openAi != null) {
        inferenceComponent = openAi.component();
      } else {
        action =
            switch (rest) {
              case "invocations-response-stream" -> "invoke-stream";
              case "async-invocations" -> "invoke-async";
              default -> "invoke";
            };
      }
    }
    if (endpoint == null || endpoint.isBlank()) {
      return bad(err, "--endpoint: required (the endpoint name)");
    }
    Optional<Action> parsedAction = Action.fromRuleName(action);
    if (parsedAction.isEmpty()) {
      return bad(
          err,
          "--action: '"
              + action
              + "' is not one of "
              + Arrays.stream(Action.values())
                  .map(Action::ruleName)
                  .collect(Collectors.joining(", ")));
    }
    if (inputLocation != null && parsedAction.get() != Action.INVOKE_ASYNC) {
      return bad(
          err,
          "--input-location: only an invoke-async call has one (the gateway refuses"
              + " the header on "
              + parsedAction.get().ruleName()
              + ")");
    }
    if (sourceIp != null && Cidr.parseAddress(sourceIp) == null) {
      return bad(err, "--source-ip: '" + sourceIp + "' is not an IPv4 or IPv6 address");
    }
    Map<String, Object> claimMap;
    try {
      JsonNode node = JSON.readTree(claims);
      if (node == null || !node.isObject()) {
        return bad(
            err,
            "--claims: expected a JSON object such as {\"sub\":\"bob\"}, not "
                + (node == null
                    ? "nothing"
                    : node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)));
      }
      claimMap =
          JSON.convertValue(
              node, JSON.getTypeFactory().constructMapType(Map.class, String.class, Object.class));
    } catch (JsonProcessingException e) {
      return bad(
          err,
          "--claims: not valid JSON: "
              + e.getOriginalMessage()
              + (e.getLocation() == null
                  ? ""
                  : " (at character " + e.getLocation().getCharOffset() + ")"));
    }
    String source = config.name();
    ConfigFileOption.Reading reading = config.read(err);
    ConfigLoader.Loaded loaded = reading.loaded();
    if (loaded == null) {
      return bad(err, source + ": the configuration is invalid; run check");
    }
    GatewayConfig gateway = loaded.config();
    Caller caller = Caller.fromClaims(claimMap, gateway.auth().claims());

    Optional<EndpointConfig> target = gateway.endpoint(endpoint);
    if (target.isEmpty()) {
      out.println("Decision:     DENY");
      out.println("Rule:         " + Decision.UNKNOWN_ENDPOINT); // as the audit record names it
      out.println(
          "Description:  endpoint '"
              + endpoint
              + "' is not configured in "
              + source
              + " (configured: "
              + gateway.endpoints().stream()
                  .map(EndpointConfig::name)
                  .collect(Collectors.joining(", "))
              + ")");
      return DENIED;
    }
    EndpointConfig ep = target.get();
    AccessRequest request =
        new AccessRequest(
            caller,
            ep,
            parsedAction.get(),
            sourceIp,
            targetVariant,
            targetModel,
            inferenceComponent,
            inputLocation);
    PolicyEngine engine = new PolicyEngine(gateway.rules());
    // As the gateway decides: the rules, then the endpoint's own async input prefixes.
    Decision decision = InputLocations.decide(engine.decide(request), request);
    List<PolicyEngine.RuleMatch> evaluation = engine.evaluate(request);

    out.println("Decision:     " + (decision.allowed() ? "ALLOW" : "DENY"));
    out.println("Rule:         " + decision.ruleId());
    out.println(
        "Description:  "
            + (decision.rule() == null
                ? (decision.allowed() || Decision.DEFAULT_DENY.equals(decision.ruleId())
                    ? "no rule allows this request"
                    : decision.reason())
                : Optional.ofNullable(decision.rule().description()).orElse("(none)")));
    out.println("Reason:       " + decision.reason());
    List<String> others =
        evaluation.stream()
            .filter(m -> m.matched() && m.rule() != decision.rule())
            .map(m -> named(m.rule()))
            .toList();
    out.println("Also matched: " + (others.isEmpty() ? "(none)" : String.join(", ", others)));
    out.println();
    out.println("Request:");
    out.println(
        "  caller      subject="
            + orNone(caller.subject())
            + " groups="
            + caller.groups().stream().sorted().toList()
            + " scopes="
            + caller.scopes().stream().sorted().toList()
            + " tenant="
            + orNone(caller.tenant()));
    out.println("  endpoint    " + ep.name() + " tags=" + new TreeMap<>(ep.tags()));
    out.println("  action      " + parsedAction.get().ruleName());
    if (openAi != null) {
      out.println(
          "  route       OpenAI-compatible "
              + openAi.route().path()
              + (openAi.route() == OpenAiCall.Route.CHAT_COMPLETIONS
                  ? " (invoke; invoke-stream when the body says \"stream\": true)"
                  : "")
              + (ep.backend().openaiEnabled()
                  ? ""
                  : "; the endpoint is not served there (backend.openai): the gateway answers 404"));
    }
    out.println("  source ip   " + orNone(sourceIp));
    out.println(
        "  targets     variant="
            + orNone(targetVariant)
            + " model="
            + orNone(targetModel)
            + " inference-component="
            + orNone(inferenceComponent));
    if (parsedAction.get() == Action.INVOKE_ASYNC) {
      out.println(
          "  input       "
              + orNone(inputLocation)
              + " (endpoint prefixes: "
              + (ep.backend() == null ? List.of() : ep.backend().asyncInputPrefixes())
              + ")");
    }
    out.println();
    out.println("Rules, in order (any matching deny wins, then the first matching allow):");
    int width =
        evaluation.stream().mapToInt(m -> String.valueOf(m.rule().id()).length()).max().orElse(0);
    for (PolicyEngine.RuleMatch m : evaluation) {
      String id = String.valueOf(m.rule().id());
      out.println(
          "  "
              + id
              + " ".repeat(width - id.length())
              + "  "
              + effect(m.rule())
              + (m.rule().effect() == RuleConfig.Effect.DENY ? "   " : "  ")
              + (m.matched() ? "matches" : "does not match: " + m.failedOn()));
    }
    io.sagegate.limits.LimitsExplainer.print(out, gateway, request);
    if (sourceIp == null) {
      // The gateway always has the caller's address; without one here, a sourceCidrs condition
      // counts as not met, so a deny limited to a network never applies. Say which rules that is.
      List<String> byAddress = matchingUpTo(evaluation, "conditions.sourceCidrs");
      if (!byAddress.isEmpty()) {
        err.println(
            "explain: no --source-ip given: "
                + String.join(", ", byAddress)
                + " match this request up to a sourceCidrs condition, which the gateway decides on the"
                + " caller's address; the decision above counts it as not met: give --source-ip to decide it");
      }
    }
    if (inputLocation == null && parsedAction.get() == Action.INVOKE_ASYNC) {
      List<String> byLocation = matchingUpTo(evaluation, "conditions.inputLocations");
      if (!byLocation.isEmpty()) {
        err.println(
            "explain: no --input-location given: "
                + String.join(", ", byLocation)
                + " match this request up to an inputLocations condition, which the gateway decides on"
                + " the call's input location; the decision above counts it as not met: give"
                + " --input-location to decide it");
      }
    }
    return decision.allowed() ? ALLOWED : DENIED;
  }

  /**
   * The rules, {@link #named}, that match this request up to {@code condition}: the first part of
   * them that failed is that condition, which explain could not decide without its option.
   */
  private static List<String> matchingUpTo(
      List<PolicyEngine.RuleMatch> evaluation, String condition) {
    return evaluation.stream()
        .filter(m -> condition.equals(m.failedOn()))
        .map(m -> named(m.rule()))
        .toList();
  }

  /** A rule as explain's lists name it: its id and effect, e.g. {@code analysts-invoke (allow)}. */
  private static String named(RuleConfig rule) {
    return rule.id() + " (" + effect(rule) + ")";
  }

  private static String effect(RuleConfig rule) {
    return rule.effect() == null ? "?" : rule.effect().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static String orNone(@Nullable String s) {
    return s == null ? "(none)" : s;
  }

  private static int bad(PrintWriter err, String message) {
    err.println("explain: " + message);
    return BAD_INPUT;
  }
}
