# Runner self-test: each scenario here must fail, for a different reason.
Feature: sy-testbed refuses wrong expectations

  Background:
    Given an evaluator

  Scenario: A wrong value
    Given a String-flag with key "string-flag" and a fallback value "bye"
    When the flag was evaluated with details
    Then the resolved details value should be "not-hi"

  Scenario: An unknown step
    Given a String-flag with key "string-flag" and a fallback value "bye"
    When the flag was frobnicated

  Scenario Outline: A wrong reason per row
    Given a Boolean-flag with key "<key>" and a fallback value "false"
    When the flag was evaluated with details
    Then the reason should be "<reason>"

    Examples:
      | key          | reason          |
      | boolean-flag | TARGETING_MATCH |
      | missing-flag | STATIC          |
