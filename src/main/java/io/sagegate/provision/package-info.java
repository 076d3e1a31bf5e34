/**
 * {@code sagegate provision}: renders, checks and deploys one CloudFormation stack per environment.
 */
@NullMarked
package io.sagegate.provision;

import org.jspecify.annotations.NullMarked;
