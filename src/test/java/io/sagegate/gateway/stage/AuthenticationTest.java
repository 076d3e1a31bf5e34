package io.sagegate.gateway.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sagegate.auth.AuthenticationException;
import io.sagegate.auth.AuthenticationException.Reason;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bearer token is taken strictly: "Bearer", spaces, one token68, nothing after it. */
class AuthenticationTest {

  private static final String JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";

  @Test
  void oneTokenIsTaken() {
    assertEquals(JWT, Authentication.bearerToken(List.of("Bearer " + JWT)));
    assertEquals(JWT, Authentication.bearerToken(List.of("bearer   " + JWT + " ")));
    assertEquals("abc+/~=", Authentication.bearerToken(List.of("Bearer abc+/~=")));
  }

  @Test
  void anythingAfterTheTokenIsMalformed() {
    for (String value :
        List.of(
            "Bearer " + JWT + ",",
            "Bearer " + JWT + " x",
            "Bearer " + JWT + ", Bearer " + JWT,
            "Bearer " + JWT + ";",
            "Bearer a=b",
            "Bearer ===",
            "Bearer " + JWT + "\tx",
            "Bearer \"" + JWT + "\"")) {
      AuthenticationException e =
          assertThrows(
              AuthenticationException.class,
              () -> Authentication.bearerToken(List.of(value)),
              value);
      assertEquals(Reason.MALFORMED, e.reason(), value);
    }
  }
}
