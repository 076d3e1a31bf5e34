package io.sagegate.provision;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.Capability;
import software.amazon.awssdk.services.cloudformation.model.Change;
import software.amazon.awssdk.services.cloudformation.model.ChangeSetStatus;
import software.amazon.awssdk.services.cloudformation.model.ChangeSetType;
import software.amazon.awssdk.services.cloudformation.model.CloudFormationException;
import software.amazon.awssdk.services.cloudformation.model.DescribeChangeSetResponse;
import software.amazon.awssdk.services.cloudformation.model.Stack;
import software.amazon.awssdk.services.cloudformation.model.StackEvent;
import software.amazon.awssdk.services.cloudformation.model.StackStatus;
import software.amazon.awssdk.services.cloudformation.model.Tag;

/**
 * Creates or updates a stack through a change set (shown before it runs), deletes stacks, and on
 * failure reports the resources that failed and how the stack ended (rolled back or not). Blocking
 * and synchronous: provisioning is a command-line job, never on the request path. Progress goes to
 * {@code err}; the stack outputs to {@code out}.
 *
 * <p>The template goes inline ({@code TemplateBody}) unless a {@link TemplateBucket} is given:
 * then, like {@code aws cloudformation deploy --s3-bucket}, it is always uploaded there and passed
 * as {@code TemplateURL} (one path whatever the size, so missing S3 permissions show on the first
 * deploy, not the day the spec outgrows the inline limit). Without a bucket, a template over the
 * inline limit is refused with a message that names the option.
 */
public final class StackDeployer {

  /** CloudFormation's limit for a template passed inline, in bytes (UTF-8). */
  public static final int MAX_TEMPLATE_BODY = 51_200;

  private final CloudFormationClient cfn;
  private final @Nullable TemplateBucket templates;
  private final PrintWriter out;
  private final PrintWriter err;

  /** A deployer that passes templates inline (up to {@link #MAX_TEMPLATE_BODY} bytes). */
  public StackDeployer(CloudFormationClient cfn, PrintWriter out, PrintWriter err) {
    this(cfn, null, out, err);
  }

  /** A deployer that uploads every template to {@code templates} when it is not null. */
  public StackDeployer(
      CloudFormationClient cfn,
      @Nullable TemplateBucket templates,
      PrintWriter out,
      PrintWriter err) {
    this.cfn = cfn;
    this.templates = templates;
    this.out = out;
    this.err = err;
  }

  /** The result of a deploy: whether it succeeded, the final stack status and the outputs. */
  public record Result(boolean ok, String status, Map<String, String> outputs) {}

  public Result deploy(String stackName, String templateBody, Map<String, String> tags) {
    // The limit is in bytes: count the UTF-8 encoding, not the characters.
    byte[] template = templateBody.getBytes(StandardCharsets.UTF_8);
    String templateUrl = null;
    if (templates != null) {
      String key = templates.upload(template);
      templateUrl = templates.url(key);
      err.printf(
          "template (%d bytes) uploaded to s3://%s/%s%n", template.length, templates.bucket(), key);
    } else if (template.length > MAX_TEMPLATE_BODY) {
      throw new IllegalArgumentException(
          "template is "
              + template.length
              + " bytes, over CloudFormation's inline limit of "
              + MAX_TEMPLATE_BODY
              + " bytes: deploy it through"
              + " an S3 bucket in the stack's account and region with --s3-bucket BUCKET [--s3-prefix PREFIX]");
    } else {
      err.printf("template (%d bytes) passed inline%n", template.length);
    }
    String url = templateUrl;
    Stack existing = find(stackName);
    boolean create = existing == null || existing.stackStatus() == StackStatus.REVIEW_IN_PROGRESS;
    String changeSet = "sagegate-" + Instant.now().getEpochSecond();
    err.printf(
        "%s stack %s: creating change set %s%n", create ? "new" : "existing", stackName, changeSet);
    cfn.createChangeSet(
        b ->
            b.stackName(stackName)
                .changeSetName(changeSet)
                .changeSetType(create ? ChangeSetType.CREATE : ChangeSetType.UPDATE)
                .templateBody(url == null ? templateBody : null) // exactly one of the two is set
                .templateURL(url)
                .capabilities(Capability.CAPABILITY_NAMED_IAM)
                .tags(
                    tags.entrySet().stream()
                        .map(t -> Tag.builder().key(t.getKey()).value(t.getValue()).build())
                        .toList()));
    try {
      cfn.waiter()
          .waitUntilChangeSetCreateComplete(b -> b.stackName(stackName).changeSetName(changeSet));
    } catch (SdkException e) {
      // The waiter fails on FAILED, and "no changes" is a FAILED change set too: the change set's
      // own status and reason, read next, say which; the waiter's text would only confuse.
    }
    DescribeChangeSetResponse cs =
        cfn.describeChangeSet(b -> b.stackName(stackName).changeSetName(changeSet));
    if (cs.status() == ChangeSetStatus.FAILED) {
      String reason = String.valueOf(cs.statusReason());
      cfn.deleteChangeSet(b -> b.stackName(stackName).changeSetName(changeSet));
      if (reason.contains("didn't contain changes")
          || reason.contains("No updates")
          || reason.contains("no changes")) {
        err.printf("stack %s is up to date: nothing to change%n", stackName);
        Stack s = find(stackName);
        return new Result(true, s == null ? "NONE" : s.stackStatusAsString(), outputs(s));
      }
      err.printf("change set failed: %s%n", reason);
      return new Result(false, "CHANGE_SET_FAILED", Map.of());
    }
    err.printf("changes (%d):%n", cs.changes().size());
    for (Change c : cs.changes()) {
      var rc = c.resourceChange();
      err.printf(
          "  %-8s %-40s %-32s%s%n",
          rc.actionAsString(),
          rc.logicalResourceId(),
          rc.resourceType(),
          rc.replacement() == null ? "" : " replacement=" + rc.replacementAsString());
    }
    err.printf("executing change set %s%n", changeSet);
    err.flush();
    try {
      cfn.executeChangeSet(b -> b.stackName(stackName).changeSetName(changeSet));
    } catch (CloudFormationException e) {
      // CloudFormation's own code and reason, not the SDK's request decoration.
      String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
      String message = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorMessage();
      String why =
          (code == null ? "HTTP " + e.statusCode() : code)
              + (message == null ? " (no reason given)" : ": " + message);
      err.printf("change set %s could not be executed: %s%n", changeSet, why);
      Stack s = find(stackName);
      reportFailure(stackName, s == null ? "NONE" : s.stackStatusAsString());
      return new Result(false, s == null ? "NONE" : s.stackStatusAsString(), Map.of());
    }
    try {
      if (create) {
        cfn.waiter().waitUntilStackCreateComplete(b -> b.stackName(stackName));
      } else {
        cfn.waiter().waitUntilStackUpdateComplete(b -> b.stackName(stackName));
      }
    } catch (SdkException e) {
      // The stack's status and its failed events, reported next, name what went wrong.
      err.printf(
          "stack %s did not reach %s%n", stackName, create ? "CREATE_COMPLETE" : "UPDATE_COMPLETE");
    }
    Stack s = find(stackName);
    String status = s == null ? "DELETED" : s.stackStatusAsString();
    boolean ok =
        s != null
            && (s.stackStatus() == StackStatus.CREATE_COMPLETE
                || s.stackStatus() == StackStatus.UPDATE_COMPLETE);
    if (!ok) {
      reportFailure(stackName, status);
    } else {
      err.printf("stack %s: %s%n", stackName, status);
    }
    Map<String, String> outputs = outputs(s);
    outputs.forEach((k, v) -> out.printf("%s=%s%n", k, v));
    return new Result(ok, status, outputs);
  }

  /** Deletes the stack and waits; false (with the failed resources) if deletion failed. */
  public boolean destroy(String stackName) {
    Stack s = find(stackName);
    if (s == null) {
      err.printf("stack %s does not exist: nothing to delete%n", stackName);
      return true;
    }
    err.printf("deleting stack %s%n", stackName);
    cfn.deleteStack(b -> b.stackName(stackName));
    try {
      cfn.waiter().waitUntilStackDeleteComplete(b -> b.stackName(s.stackId()));
    } catch (SdkException e) {
      err.printf("stack %s was not deleted%n", stackName);
    }
    Stack after = find(stackName);
    if (after == null || after.stackStatus() == StackStatus.DELETE_COMPLETE) {
      err.printf("stack %s deleted%n", stackName);
      return true;
    }
    reportFailure(stackName, after.stackStatusAsString());
    return false;
  }

  private void reportFailure(String stackName, String status) {
    err.printf(
        "stack %s FAILED, final status %s%s%n",
        stackName, status, status.contains("ROLLBACK") ? " (changes were rolled back)" : "");
    List<StackEvent> events = cfn.describeStackEvents(b -> b.stackName(stackName)).stackEvents();
    for (StackEvent ev : events) {
      if (ev.resourceStatusAsString() != null && ev.resourceStatusAsString().endsWith("FAILED")) {
        err.printf(
            "  %s %s (%s): %s%n",
            ev.resourceStatusAsString(),
            ev.logicalResourceId(),
            ev.resourceType(),
            ev.resourceStatusReason());
      }
    }
  }

  @Nullable Stack find(String stackName) {
    try {
      List<Stack> stacks = cfn.describeStacks(b -> b.stackName(stackName)).stacks();
      return stacks.isEmpty() ? null : stacks.get(0);
    } catch (CloudFormationException e) {
      if (e.statusCode() == 400 && String.valueOf(e.getMessage()).contains("does not exist")) {
        return null;
      }
      throw e;
    }
  }

  private static Map<String, String> outputs(@Nullable Stack s) {
    Map<String, String> m = new TreeMap<>();
    if (s != null && s.hasOutputs()) {
      s.outputs().forEach(o -> m.put(o.outputKey(), o.outputValue()));
    }
    return m;
  }
}
