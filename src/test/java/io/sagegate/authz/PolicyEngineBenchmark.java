package io.sagegate.authz;

import io.sagegate.auth.Caller;
import io.sagegate.config.ClaimMapping;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.RuleConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * The cost of one access decision: the demo rules, and 200 rules (deny rules with CIDR and claim
 * conditions among them) to show how it grows. Not a test; run it with {@code mvn -o -q
 * test-compile && java -cp target/test-classes:target/classes:$(cat cp.txt)
 * io.sagegate.authz.PolicyEngineBenchmark} after {@code mvn dependency:build-classpath
 * -Dmdep.outputFile=cp.txt}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PolicyEngineBenchmark {

  private PolicyEngine demo;
  private PolicyEngine large;
  private AccessRequest analyst;
  private AccessRequest nobody;

  @Setup
  public void setUp() {
    GatewayConfig config = ConfigLoader.embeddedDefault();
    demo = new PolicyEngine(config.rules());
    List<RuleConfig> rules = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      rules.add(
          new RuleConfig(
              "deny-" + i,
              RuleConfig.Effect.DENY,
              null,
              new RuleConfig.Principal(
                  null, null, null, null, Map.of("realm_access.roles", List.of("blocked-" + i))),
              null,
              null,
              new RuleConfig.Conditions(List.of("10." + i + ".0.0/16"), null, null, null, null),
              null));
    }
    for (int i = 0; i < 150; i++) {
      rules.add(
          new RuleConfig(
              "allow-" + i,
              RuleConfig.Effect.ALLOW,
              null,
              new RuleConfig.Principal(
                  null, List.of("team-" + i, "team-" + i + "-*"), null, null, null),
              new RuleConfig.Resource(List.of("model-" + i + "-*"), null),
              List.of("invoke"),
              null,
              null));
    }
    rules.addAll(config.rules());
    large = new PolicyEngine(rules);
    EndpointConfig fraud = config.endpoint("fraud-scorer").orElseThrow();
    analyst =
        new AccessRequest(
            Caller.fromClaims(
                Map.of("sub", "bob", "groups", List.of("analysts")), ClaimMapping.defaults()),
            fraud,
            Action.INVOKE,
            "10.200.1.1",
            null,
            null,
            null);
    nobody =
        new AccessRequest(
            Caller.fromClaims(Map.of("sub", "eve"), ClaimMapping.defaults()),
            fraud,
            Action.INVOKE,
            "192.168.1.1",
            null,
            null,
            null);
  }

  @Benchmark
  public Decision demoAllow() {
    return demo.decide(analyst);
  }

  @Benchmark
  public Decision demoDefaultDeny() {
    return demo.decide(nobody);
  }

  @Benchmark
  public Decision largeAllowAtTheEnd() {
    return large.decide(analyst);
  }

  public static void main(String[] args) throws Exception {
    new Runner(new OptionsBuilder().include(PolicyEngineBenchmark.class.getSimpleName()).build())
        .run();
  }
}
