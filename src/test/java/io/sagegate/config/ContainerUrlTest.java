package io.sagegate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ContainerUrlTest {

  @ParameterizedTest
  @CsvSource({
    "http://model:8080,               false, model,           8080, ''",
    "http://model_server:8080,        false, model_server,    8080, ''",
    "http://model_server,             false, model_server,    80,   ''",
    "https://model_server/,           true,  model_server,    443,  ''",
    "http://model_server:9000/v1//,   false, model_server,    9000, /v1",
    "HTTPS://Model.Svc.cluster.local, true,  Model.Svc.cluster.local, 443, ''",
    "http://10.0.0.7:8080/prefix,     false, 10.0.0.7,        8080, /prefix",
    "http://[::1]:8080,               false, [::1],           8080, ''",
  })
  void takesTheUrlApart(String url, boolean ssl, String host, int port, String prefix) {
    assertEquals(new ContainerUrl(ssl, host, port, prefix), ContainerUrl.parse(URI.create(url)));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "ftp://model:21                 | http:// or https://",
        "http:///invocations            | must name a host",
        "http://model_server:99999      | out of range",
        "http://model-server:99999      | out of range",
        "http://model_server:0x50       | is not a port",
        "http://user@model_server:8080  | user information",
        "http://user:secret@model:8080  | user information",
        "http://model_server:           | is not a port",
        "http://-model_server:8080      | is not a host name",
      })
  void refusesWhatCannotBeCalled(String url, String message) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ContainerUrl.parse(URI.create(url)));
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "http://user:secret@model:8080/x | http://***@model:8080/x",
        "http://model_server:8080        | http://model_server:8080",
        "http://model/a@b                | http://model/a@b",
        "not a url                       | not a url",
      })
  void redactsUserInformation(String url, String shown) {
    assertEquals(shown, ContainerUrl.redacted(url));
  }
}
