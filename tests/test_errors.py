"""InvalidInputError's per-field messages, and how the GraphQL layer serves them."""

from __future__ import annotations

from neurall.errors import InvalidInputError
from neurall.graphql.errors import FieldError, InvalidInput, user_error


def test_one_message_for_every_field_it_names() -> None:
    error = InvalidInputError("Choose one of your ready clones.", ["input.adapters.1.cloneId"])
    assert error.message == "Choose one of your ready clones."
    assert error.errors == {"input.adapters.1.cloneId": "Choose one of your ready clones."}


def test_per_field_messages_are_sorted_and_summed_up() -> None:
    error = InvalidInputError.per_field(
        {"input.steps": "Steps must be between 1 and 150.", "input.seed": "Bad seed."}
    )
    assert error.fields == ["input.seed", "input.steps"]
    assert error.message == "Bad seed. Steps must be between 1 and 150."
    served = user_error(error)
    assert isinstance(served, InvalidInput)
    assert served.fields == ["input.seed", "input.steps"]
    assert served.errors == [
        FieldError(field="input.seed", message="Bad seed."),
        FieldError(field="input.steps", message="Steps must be between 1 and 150."),
    ]


def test_an_error_about_no_field_has_no_field_errors() -> None:
    served = user_error(InvalidInputError("Nothing fits.", []))
    assert isinstance(served, InvalidInput)
    assert (served.fields, served.errors, served.message) == ([], [], "Nothing fits.")
