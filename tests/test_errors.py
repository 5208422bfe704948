import pytest

from retainwise.errors import (
    BY_NAME,
    ConfigError,
    ExecutionError,
    InputError,
    InternalError,
    LinkError,
    MessageError,
    ModelError,
    RetainwiseError,
    StorageError,
    StorageRefusedError,
    TransientError,
)


def test_categories_decide_retry():
    assert not InputError("x").transient
    assert not ModelError("x").transient
    assert not StorageRefusedError("x").transient
    assert StorageError("x").transient
    assert ExecutionError("x").transient


def test_retry_is_a_matter_of_class_never_of_an_instance_flag():
    assert issubclass(StorageError, TransientError) and issubclass(ExecutionError, TransientError)
    for permanent in (
        InputError,
        ModelError,
        ConfigError,
        StorageRefusedError,
        InternalError,
        MessageError,
        LinkError,
    ):
        assert not issubclass(permanent, TransientError)
    err = InternalError("a bug")
    with pytest.raises(AttributeError):
        err.transient = True  # the old runner did this to a bug; now it cannot


def test_bugs_are_permanent():
    assert not InternalError("Unexpected KeyError: 'x'").transient


def test_message_and_link_errors_are_input_errors():
    assert issubclass(MessageError, InputError) and issubclass(LinkError, InputError)


def test_every_error_is_a_retainwise_error_and_maps_by_name():
    for name, cls in BY_NAME.items():
        assert issubclass(cls, RetainwiseError)
        assert cls.__name__ == name
    assert {"MessageError", "LinkError", "TransientError", "InternalError"} <= set(BY_NAME)


def test_structured_fields_travel_with_the_error():
    err = InputError("bad ids", code="dup", column="customer_id", count=3, examples=["a", 1])
    d = err.to_dict()
    assert d["category"] == "InputError" and d["code"] == "dup" and d["count"] == 3
    assert d["examples"] == ["a", "1"] and d["transient"] is False
    assert StorageError("down").to_dict()["transient"] is True


def test_messages_are_always_one_line():
    err = InputError("No column can be the customer id (columns: a\nb\r\n\tc\x00d).")
    assert err.message == "No column can be the customer id (columns: a b c d)."
    assert str(err) == err.message
