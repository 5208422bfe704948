from retainwise.errors import BY_NAME, ExecutionError, InputError, ModelError, RetainwiseError, StorageError


def test_categories_decide_retry():
    assert not InputError("x").transient
    assert not ModelError("x").transient
    assert StorageError("x").transient
    assert ExecutionError("x").transient


def test_every_error_is_a_retainwise_error_and_maps_by_name():
    for name, cls in BY_NAME.items():
        assert issubclass(cls, RetainwiseError)
        assert cls.__name__ == name


def test_structured_fields_travel_with_the_error():
    err = InputError("bad ids", code="dup", column="customer_id", count=3, examples=["a", 1])
    d = err.to_dict()
    assert d["category"] == "InputError" and d["code"] == "dup" and d["count"] == 3
    assert d["examples"] == ["a", "1"] and d["transient"] is False


def test_messages_are_always_one_line():
    from retainwise.errors import InputError

    err = InputError("No column can be the customer id (columns: a\nb\r\n\tc\x00d).")
    assert err.message == "No column can be the customer id (columns: a b c d)."
    assert str(err) == err.message
