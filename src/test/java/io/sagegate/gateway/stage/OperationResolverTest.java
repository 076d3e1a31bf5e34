package io.sagegate.gateway.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-written endpoint-name check agrees with SageMaker's pattern, character for character.
 */
class OperationResolverTest {

  private static final Pattern SAGEMAKER = Pattern.compile("^[a-zA-Z0-9](-*[a-zA-Z0-9])*$");

  @Test
  void nameCheckAgreesWithSageMakersPattern() {
    List<String> names =
        List.of(
            "a",
            "Z",
            "9",
            "fraud-scorer",
            "a--b",
            "a-b-c-1",
            "-a",
            "a-",
            "-",
            "",
            "a_b",
            "a.b",
            "a b",
            "A%2Fb",
            "ä",
            "a\u0000",
            "x".repeat(63),
            "x".repeat(64),
            "a-".repeat(31) + "a",
            "Sentiment-Test",
            "a/b",
            "..",
            "%2e");
    for (String name : names) {
      boolean expected = name.length() <= 63 && SAGEMAKER.matcher(name).matches();
      assertEquals(expected, OperationResolver.validName(name), "name '" + name + "'");
    }
  }
}
