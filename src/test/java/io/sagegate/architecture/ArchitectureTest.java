package io.sagegate.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.sagegate.audit.AuditRecord;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.jspecify.annotations.NullMarked;
import org.junit.jupiter.api.Test;

/**
 * The boundaries the code keeps, checked on the compiled classes (ArchUnit), so a new import that
 * breaks one fails the build with the offending classes named. Replaces the text-grep LayeringTest,
 * which a fully qualified name or a static import could slip past.
 */
class ArchitectureTest {

  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
          .importPackages("io.sagegate");

  private static final JavaClasses ALL =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
          .importPackages("io.sagegate");

  /**
   * No two top-level packages (the modules: auth, authz, config, backend, aws, gateway, ...) depend
   * on each other, directly or round a ring: each can be read, tested and moved with only the ones
   * below it. A general helper two modules need goes into a package of its own (as {@code match}
   * and {@code eventstream} did). A module's subpackages count as the module: the gateway assembles
   * its stages ({@code gateway.stage}) and the stages use its Exchange.
   */
  @Test
  void packagesHaveNoCycles() {
    slices()
        .matching("io.sagegate.(*)..")
        .namingSlices("$1")
        .should()
        .beFreeOfCycles()
        .because("a package cycle ties packages together; move what both need into its own package")
        .check(MAIN);
  }

  /**
   * Provisioning (CloudFormation templates, IAM, S3 uploads) runs from the command line, never on
   * the request path: only {@code io.sagegate.provision} itself and the CLI that exposes it (Main,
   * ProvisionCommand) may use it.
   */
  @Test
  void requestPathNeverImportsProvisioning() {
    noClasses()
        .that()
        .resideOutsideOfPackage("io.sagegate.provision..")
        .and()
        .haveNameNotMatching("io\\.sagegate\\.cli\\.(Main|ProvisionCommand)(\\$.*)?")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.sagegate.provision..")
        .because("provisioning is a command-line tool; the gateway's request path must not load it")
        .check(MAIN);
  }

  /**
   * Nothing waits on a Vert.x future without a bound (a bare {@code Future.await()} blocks forever
   * if the future is lost): tests use {@code await(AWAIT_SECONDS, SECONDS)}. The exceptions are the
   * processes whose main thread waits for their own shutdown: serve, demo-model and the test
   * emulator's main.
   */
  @Test
  void noUnboundedFutureAwait() {
    noClasses()
        .that()
        .haveNameNotMatching(
            "io\\.sagegate\\.(cli\\.(ServeCommand|DemoModelCommand)|testsupport\\.aws\\.EmulatorMain)(\\$.*)?")
        .should()
        .callMethod(Future.class, "await")
        .because(
            "an unbounded wait hangs the build when a future is lost; use await(timeout, unit)")
        .check(ALL);
  }

  /**
   * The same for a {@code CompletableFuture}: {@code join()} and {@code get()} wait forever, and
   * JUnit's timeout cannot interrupt a join; tests use {@code Bounds.join(future)}.
   */
  @Test
  void noUnboundedCompletableFutureWait() {
    noClasses()
        .should()
        .callMethod(CompletableFuture.class, "join")
        .orShould()
        .callMethod(CompletableFuture.class, "get")
        .because("an unbounded wait hangs the build when a future is lost; use Bounds.join(future)")
        .check(ALL);
  }

  /**
   * Every package of main code is {@code @NullMarked}, so NullAway (which checks only marked
   * packages) checks it: a new package without the mark would pass the build unchecked.
   */
  @Test
  void everyPackageOfMainCodeIsCheckedByNullAway() {
    List<String> unmarked =
        MAIN.stream()
            .map(c -> c.getPackageName())
            .distinct()
            .filter(p -> !MAIN.getPackage(p).isAnnotatedWith(NullMarked.class))
            .sorted()
            .toList();
    org.junit.jupiter.api.Assertions.assertEquals(
        List.of(), unmarked, "packages without @NullMarked in their package-info.java");
  }

  /** The check looks where the code is: the classes were found. */
  @Test
  void theCheckSeesTheCode() {
    org.junit.jupiter.api.Assertions.assertTrue(MAIN.containPackage("io.sagegate.provision"));
    org.junit.jupiter.api.Assertions.assertTrue(MAIN.containPackage("io.sagegate.gateway"));
  }

  /**
   * Each value of the audit record is set by the stage that knows it, and by no other class: the
   * record's setters (AuditRecord) are public, so this test is what makes the ownership hold. A new
   * caller of a setter fails here naming itself; if it really knows the value, add it below.
   */
  @Test
  void auditValuesAreSetOnlyByTheStagesThatKnowThem() {
    Map<String, Set<String>> owners =
        Map.ofEntries(
            Map.entry("action", Set.of("OperationResolver", "OpenAiBody")),
            Map.entry("endpoint", Set.of("OperationResolver", "AccessControl")),
            Map.entry("api", Set.of("OperationResolver")),
            Map.entry("caller", Set.of("Authentication")),
            Map.entry("target", Set.of("HeaderValidation")),
            Map.entry("decision", Set.of("AccessControl")),
            Map.entry("unknownEndpoint", Set.of("AccessControl")),
            Map.entry("limit", Set.of("QuotaControl", "ConcurrencyControl", "InFlightAdmission")),
            Map.entry("session", Set.of("CredentialsStage")),
            Map.entry("backendStarted", Set.of("Invoke")),
            Map.entry("backendStatus", Set.of("Invoke")),
            Map.entry("upstream", Set.of("Invoke")),
            Map.entry("backendEnded", Set.of("Invoke", "RequestTracking")),
            Map.entry("tokens", Set.of("OpenAiMetering")),
            Map.entry(
                "error",
                Set.of("ErrorResponder", "Invoke", "InFlightCalls", "Gateway", "RequestTracking")),
            Map.entry("status", Set.of("RequestTracking", "Gateway")),
            Map.entry("bytes", Set.of("RequestTracking", "Gateway")),
            Map.entry("finished", Set.of("RequestTracking")));
    List<String> strays = new ArrayList<>();
    int calls = 0;
    for (JavaClass c : MAIN) {
      for (JavaMethodCall call : c.getMethodCallsFromSelf()) {
        if (!call.getTargetOwner().isEquivalentTo(AuditRecord.class)) {
          continue;
        }
        if (!call.getTarget().getRawReturnType().isEquivalentTo(void.class)) {
          continue; // an accessor (setters return nothing)
        }
        Set<String> allowed = owners.getOrDefault(call.getName(), Set.of());
        calls++;
        String caller = topLevel(c).getSimpleName();
        if (!allowed.contains(caller)) {
          strays.add(
              caller
                  + " calls AuditRecord."
                  + call.getName()
                  + " at "
                  + call.getSourceCodeLocation());
        }
      }
    }
    assertTrue(calls > 20, "found only " + calls + " setter calls: is the import empty?");
    assertEquals(List.of(), strays);
    assertEquals(
        owners.keySet(),
        Arrays.stream(AuditRecord.class.getDeclaredMethods())
            .filter(m -> java.lang.reflect.Modifier.isPublic(m.getModifiers()))
            .filter(m -> m.getReturnType() == void.class)
            .map(java.lang.reflect.Method::getName)
            .collect(Collectors.toSet()),
        "every setter of AuditRecord has its owners listed here");
  }

  private static JavaClass topLevel(JavaClass c) {
    JavaClass out = c;
    while (out.getEnclosingClass().isPresent()) {
      out = out.getEnclosingClass().get();
    }
    return out;
  }
}
