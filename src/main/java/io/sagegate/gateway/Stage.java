package io.sagegate.gateway;

/**
 * One step of the request pipeline. A stage either hands the exchange on with {@link
 * Exchange#next()} (now or once its asynchronous work is done) or ends it with {@link
 * Exchange#fail(Throwable)}; it never does both, and never neither. A stage that finishes
 * asynchronously says so before it returns ({@link Exchange#later()}, or {@link
 * Exchange#holdBody()}); a stage that returns having done none of these fails the request at once
 * with a 500 naming it (Exchange.StageContractException), so a forgotten call is a failed request
 * and a log line, not a caller held until the idle timeout.
 */
@FunctionalInterface
public interface Stage {

  void handle(Exchange exchange);
}
