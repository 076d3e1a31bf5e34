package io.sagegate.gateway;

import io.vertx.core.MultiMap;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * The per-request cost of finding the client address when trusted proxies are configured (with none
 * there is no resolver and no cost): a direct caller, a call through an ALB and an ingress pod, and
 * the same over IPv6. Headers in Vert.x's own request header map, as the gateway reads them. Not a
 * test; run like {@link io.sagegate.authz.PolicyEngineBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class TrustedProxiesBenchmark {

  private final TrustedProxies proxies = new TrustedProxies(List.of("10.0.0.0/8", "fd00::/8"));
  private final MultiMap twoHops = headers("203.0.113.7, 10.1.2.3");
  private final MultiMap ipv6 = headers("2001:db8::1, fd00::3");

  private static MultiMap headers(String forwardedFor) {
    MultiMap m = HeadersMultiMap.httpHeaders();
    m.add("Host", "sagegate.example.com");
    m.add("Authorization", "Bearer x");
    m.add("Content-Type", "application/json");
    m.add("X-Forwarded-For", forwardedFor);
    return m;
  }

  @Benchmark
  public String untrustedPeer() {
    return proxies.clientAddress("203.0.113.9", twoHops);
  }

  @Benchmark
  public String throughTwoProxies() {
    return proxies.clientAddress("10.0.0.5", twoHops);
  }

  @Benchmark
  public String ipv6ThroughTwoProxies() {
    return proxies.clientAddress("fd00::1", ipv6);
  }

  public static void main(String[] args) throws Exception {
    new Runner(new OptionsBuilder().include(TrustedProxiesBenchmark.class.getSimpleName()).build())
        .run();
  }
}
