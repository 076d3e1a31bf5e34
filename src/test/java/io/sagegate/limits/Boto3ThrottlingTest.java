package io.sagegate.limits;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.gateway.GatewayAssembly;
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.SlowModel;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * boto3 (the real SDK, through python3) against a limited endpoint: it reads the refusal as
 * ThrottlingException and retries it as its retry mode says (standard: up to max_attempts).
 */
class Boto3ThrottlingTest {

  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";
  private static final String SCRIPT =
      String.join(
          "\n",
          "import sys, json, boto3, botocore",
          "from botocore.config import Config",
          "port, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]",
          "c = boto3.client('sagemaker-runtime', endpoint_url='http://127.0.0.1:' + port,",
          "    region_name='eu-west-1', aws_access_key_id='x', aws_secret_access_key='x',",
          "    config=Config(signature_version=botocore.UNSIGNED,",
          "                  retries={'mode': mode, 'max_attempts': 3}))",
          "c.meta.events.register('before-send.sagemaker-runtime.*',",
          "    lambda request, **kw: request.headers.__setitem__('Authorization', 'Bearer ' + token))",
          "out = []",
          "for i in range(2):",
          "    try:",
          "        r = c.invoke_endpoint(EndpointName='scorer', ContentType='application/json', Body=b'{}')",
          "        out.append({'ok': True, 'retries': r['ResponseMetadata']['RetryAttempts']})",
          "    except botocore.exceptions.ClientError as e:",
          "        out.append({'ok': False, 'code': e.response['Error']['Code'],",
          "                    'status': e.response['ResponseMetadata']['HTTPStatusCode'],",
          "                    'retries': e.response['ResponseMetadata']['RetryAttempts'],",
          "                    'retryAfter': e.response['ResponseMetadata']['HTTPHeaders'].get('retry-after')})",
          "print(json.dumps(out))");

  private static MockOAuth2Server oidc;
  private static Vertx vertx;
  private static SlowModel model;
  private static GatewayAssembly assembly;
  private static RecordingAuditSink audit;
  @TempDir static Path keys;

  @BeforeAll
  static void start() throws Exception {
    oidc = new MockOAuth2Server();
    oidc.start();
    vertx = Vertx.vertx();
    model = SlowModel.start(vertx, 1).await(AWAIT_SECONDS, SECONDS);
    String yaml =
        """
        server: {port: 0, managementPort: 0, eventLoops: 1}
        auth: {discoveryUrl: %s, issuer: %s, audiences: [%s]}
        endpoints:
          - name: scorer
            backend: {type: container, url: "%s", timeout: 10s}
        rules:
          - id: all
            effect: allow
            principal: {groups: [ml]}
        limits:
          - id: one-per-hour
            rate: 1
            per: 1h
        """
            .formatted(oidc.wellKnownUrl(ISSUER), oidc.issuerUrl(ISSUER), AUDIENCE, model.url());
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, "boto3.yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                keys)
            .await(AWAIT_SECONDS, SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    model.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    oidc.shutdown();
  }

  private static JsonNode boto3(String subject, String mode) throws Exception {
    String token =
        oidc.issueToken(ISSUER, subject, AUDIENCE, Map.of("groups", List.of("ml")), 3600)
            .serialize();
    Process p =
        new ProcessBuilder(
                "python3", "-c", SCRIPT, Integer.toString(assembly.gateway().port()), token, mode)
            .redirectErrorStream(false)
            .start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "boto3 finished");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out + err);
    return new ObjectMapper().readTree(out);
  }

  @Test
  void boto3SeesThrottlingExceptionAndRetriesItInStandardMode() throws Exception {
    JsonNode out = boto3("boto-standard", "standard");
    assertTrue(out.get(0).path("ok").asBoolean(), out.toString());
    JsonNode refused = out.get(1);
    assertEquals("ThrottlingException", refused.path("code").asText(), out.toString());
    assertEquals(429, refused.path("status").asInt());
    // botocore's retries.max_attempts counts retries, not the first attempt.
    assertEquals(
        3, refused.path("retries").asInt(), "standard mode retried a throttling error: " + out);
    assertTrue(refused.path("retryAfter").asInt() >= 1, out.toString());
    // 1 admitted, then 4 attempts of the refused call, each audited as the limit's refusal.
    long refusals =
        audit.all().stream()
            .filter(
                r ->
                    "one-per-hour".equals(r.path("limitId").asText())
                        && r.path("status").asInt() == 429
                        && r.path("subject").asText().equals("boto-standard"))
            .count();
    assertEquals(4, refusals);
  }

  @Test
  void boto3RetriesItInLegacyModeToo() throws Exception {
    JsonNode out = boto3("boto-legacy", "legacy");
    assertEquals("ThrottlingException", out.get(1).path("code").asText(), out.toString());
    assertEquals(3, out.get(1).path("retries").asInt(), out.toString());
  }
}
