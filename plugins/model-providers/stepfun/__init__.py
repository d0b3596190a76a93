"""StepFun Step Plan, OpenAI-compatible.

StepFun's reasoning models take a top-level ``reasoning_effort`` (low, medium
or high) and otherwise fall back to a cheap "low" tier, so agent work asks for
medium unless told otherwise. Other StepFun models are left untouched.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_EFFORTS = frozenset({"low", "medium", "high"})


def takes_reasoning_effort(model: str | None) -> bool:
    """step-3.7 and models named as reasoning variants."""
    name = (model or "").strip().lower()
    return "3.7" in name or "reasoning" in name


class StepFunProfile(ProviderProfile):
    """StepFun: top-level ``reasoning_effort`` on reasoning models."""

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        model: str | None = None,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Effort clamped to low/medium/high; omitted when reasoning is disabled."""
        if not takes_reasoning_effort(model):
            return {}, {}
        if isinstance(reasoning_config, dict) and reasoning_config.get("enabled") is False:
            return {}, {}
        effort = "medium"
        if isinstance(reasoning_config, dict):
            asked = str(reasoning_config.get("effort") or "").strip().lower()
            if asked in _EFFORTS:
                effort = asked
            elif asked in {"xhigh", "max", "ultra"}:
                effort = "high"
        return {}, {"reasoning_effort": effort}


register_provider(
    StepFunProfile(
        name="stepfun",
        aliases=("step", "stepfun-coding-plan"),
        display_name="StepFun Step Plan",
        description="StepFun: Step models on the Step Plan subscription",
        signup_url="https://platform.stepfun.ai/",
        env_vars=("STEPFUN_API_KEY", "STEPFUN_BASE_URL"),
        base_url="https://api.stepfun.ai/step_plan/v1",
        auth_type="api_key",
        default_aux_model="step-3.5-flash",
        fallback_models=("step-3.5-flash", "step-3.5-flash-2603", "step-3"),
    )
)
