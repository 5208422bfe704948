"""execution.notebook: what crosses the kernel boundary when a cell raises one of our errors."""

from __future__ import annotations

import nbformat
import pytest


def _tiny_notebook(path, code):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(code),
    ]
    nbformat.write(nb, str(path))
    return path


def test_a_kernel_error_keeps_its_class_code_and_fields(tmp_path):
    from retainwise.errors import InputError
    from retainwise.execution.notebook import run_notebook

    code = (
        "from retainwise.errors import InputError\n"
        "raise InputError('only 12 labelled customers', code='too_little_data', column='churned',"
        " count=12, examples=['=cmd', 3])"
    )
    source = _tiny_notebook(tmp_path / "tiny.ipynb", code)
    with pytest.raises(InputError) as info:
        run_notebook(source, tmp_path / "out.ipynb", {"x": 2})
    err = info.value
    assert type(err) is InputError and err.code == "too_little_data"  # was "bad_input": the code was lost
    assert err.message == "only 12 labelled customers"
    assert (err.column, err.count, err.examples) == ("churned", 12, ["=cmd", "3"])


def test_a_subclass_raised_in_a_kernel_comes_back_as_that_subclass(tmp_path):
    from retainwise.errors import ModelError
    from retainwise.execution.notebook import run_notebook

    code = "from retainwise.errors import ModelError\nraise ModelError('tampered', code='model_tampered')"
    source = _tiny_notebook(tmp_path / "tiny.ipynb", code)
    with pytest.raises(ModelError) as info:
        run_notebook(source, tmp_path / "out.ipynb", {})
    assert info.value.code == "model_tampered" and not info.value.transient


class _Papermill:
    """The fields of a PapermillExecutionError that kernel_error reads."""

    def __init__(self, ename, evalue, traceback):
        self.ename, self.evalue, self.traceback, self.exec_count = ename, evalue, traceback, 2


@pytest.mark.parametrize(
    "traceback",
    [[], ["Traceback ..."], ["retainwise-error: {not json"], ["retainwise-error: [1, 2]"], None],
)
def test_without_a_readable_record_the_class_default_code_stands(traceback):
    from retainwise.errors import InputError
    from retainwise.execution.notebook import kernel_error

    err = kernel_error(_Papermill("InputError", "no rows", traceback))
    assert type(err) is InputError and err.code == "bad_input" and err.message == "no rows"


def test_a_record_with_wrong_types_is_ignored_field_by_field():
    from retainwise.execution.notebook import kernel_error

    record = 'retainwise-error: {"code": 5, "column": ["x"], "count": true, "examples": "abc"}'
    err = kernel_error(_Papermill("InputError", "no rows", ["tb", record]))
    assert (err.code, err.column, err.count, err.examples) == ("bad_input", None, None, [])


def test_an_error_renders_its_record_for_ipython():
    import json

    from retainwise.errors import KERNEL_RECORD, InputError

    try:
        raise InputError("bad", code="too_little_data")
    except InputError as exc:
        stb = exc._render_traceback_()
    assert "InputError: bad" in stb[0]
    assert json.loads(stb[-1].removeprefix(KERNEL_RECORD))["code"] == "too_little_data"
