"""Two changes to Rasa 3.6 internals, applied in the Rasa server when its channels are set up.

Both replace module-level behaviour that Rasa offers no setting for; both keep Rasa's semantics.

* The action server timeout: Rasa waits 300 s for a custom action (`DEFAULT_REQUEST_TIMEOUT`,
  read on every call). A parent should not wait that long for the apology: it becomes
  `ACTION_TIMEOUT_SECONDS` (default 10).
* The action response check: Rasa validates every action server response with
  `jsonschema.validate`, which first validates the *schema* itself, on every call. Profiled on
  the REST channel, that schema check alone was 10 % of the Rasa server's CPU per message.
  The response is now checked with one validator built (and its schema checked) once; when it
  finds a problem, Rasa's own check runs, so errors read exactly as before.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Dict, Text

ACTION_TIMEOUT_ENV = "ACTION_TIMEOUT_SECONDS"
DEFAULT_ACTION_TIMEOUT = 10.0


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def tune_rasa_runtime() -> None:
    """Applies both changes (idempotent)."""
    import rasa.core.actions.action as rasa_action

    rasa_action.DEFAULT_REQUEST_TIMEOUT = float(  # type: ignore[attr-defined]
        os.environ.get(ACTION_TIMEOUT_ENV, DEFAULT_ACTION_TIMEOUT)
    )
    remote = rasa_action.RemoteAction
    if getattr(remote._validate_action_result, "_clinic_cached", False):
        return
    rasa_check = remote._validate_action_result

    def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        if _response_validator().is_valid(result):
            return True
        return rasa_check(self, result)  # raises with Rasa's message

    validate_action_result._clinic_cached = True  # type: ignore[attr-defined]
    remote._validate_action_result = validate_action_result  # type: ignore[method-assign]
