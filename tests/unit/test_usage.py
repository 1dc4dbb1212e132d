"""What a run consumed, and what it costs at a price table (domain/usage.py)."""

from __future__ import annotations

import pytest

from docflow.domain.usage import STATE_MACHINE_TRANSITIONS, Metering, PriceTable, Usage


def test_given_usage_when_consumption_is_added_then_every_counter_adds_up() -> None:
    usage = Usage(pages=1, textract_pages={"AnalyzeExpense": 1}, bedrock_tokens={"input": 10, "output": 2})

    added = usage.plus({"pages": 2, "ocr_pages": 1,
                        "textract_pages": {"AnalyzeExpense": 2, "AnalyzeDocument:Queries": 1},
                        "bedrock_tokens": {"input": 5}, "step_transitions": 2, "lambda_ms": 40,
                        "lambda_invocations": 1})

    assert added == Usage(pages=3, ocr_pages=1, textract_pages={"AnalyzeExpense": 3, "AnalyzeDocument:Queries": 1},
                          bedrock_tokens={"input": 15, "output": 2}, step_transitions=2, lambda_ms=40,
                          lambda_invocations=1)
    assert usage.pages == 1  # the usage it was added to is unchanged


def test_given_a_price_table_when_usage_is_priced_then_each_service_is_charged_at_its_unit() -> None:
    prices = PriceTable(step_transition=0.001, lambda_gb_second=0.5, lambda_request=0.01, lambda_memory_mb=2048,
                        textract_page={"AnalyzeExpense": 0.1}, bedrock_input_1k=1.0, bedrock_output_1k=2.0)
    usage = Usage(step_transitions=7, lambda_ms=1500, lambda_invocations=3, textract_pages={"AnalyzeExpense": 2},
                  bedrock_tokens={"input": 500, "output": 250})

    # 7 × 0.001 + 1.5 s × 2 GB × 0.5 + 3 × 0.01 + 2 × 0.1 + 0.5 × 1 + 0.25 × 2
    assert prices.cost_usd(usage) == pytest.approx(0.007 + 1.5 + 0.03 + 0.2 + 0.5 + 0.5)


def test_given_an_unknown_textract_api_when_priced_then_it_costs_the_dearest_known_api() -> None:
    prices = PriceTable(textract_page={"AnalyzeExpense": 0.01, "AnalyzeDocument:Queries": 0.015})

    assert prices.cost_usd(Usage(textract_pages={"AnalyzeID": 10})) == pytest.approx(0.15)


def test_given_the_state_machine_metering_when_a_step_is_called_then_its_transitions_and_time_count() -> None:
    metering = Metering(PriceTable(), STATE_MACHINE_TRANSITIONS, bills_compute=True)

    assert metering.of_call("step", 120) == {"step_transitions": 2, "lambda_ms": 120, "lambda_invocations": 1}
    assert metering.of_call("done", 0) == {"step_transitions": 1}


def test_given_local_metering_when_a_step_is_called_then_no_transitions_or_compute_are_billed() -> None:
    assert Metering().of_call("step", 120) == {"step_transitions": 0}
