package io.sagegate.gateway;

/**
 * One step of the request pipeline. A stage either hands the exchange on with
 * {@link Exchange#next()} (now or once its asynchronous work is done) or ends it with
 * {@link Exchange#fail(Throwable)}; it never does both, and never neither.
 */
@FunctionalInterface
public interface Stage {

  void handle(Exchange exchange);
}
