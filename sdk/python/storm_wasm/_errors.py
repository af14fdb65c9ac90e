"""Turning a Python exception into the text Storm shows: the exception
first (Storm's UI shows the first line), then the traceback."""

import os
import re
import sys
import traceback

_SDK_DIR = os.path.dirname(os.path.abspath(__file__))

# componentize-py mounts each directory of the build's Python path at /0,
# /1, ... in the component; showing "word_count.py" instead of
# "/0/word_count.py" points at the user's file.
_MOUNT = re.compile(r'File "/\d+/')


def _in_sdk(tb):
    return os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == _SDK_DIR


def describe(exc):
    """``"ValueError: bad input\\nTraceback (most recent call last): ..."``
    for ``exc``, without the SDK's own frames at the top of the stack."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and _in_sdk(tb):
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    text = _MOUNT.sub('File "', "".join(lines)).rstrip()
    head = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if isinstance(exc, ImportError) and sys.platform == "wasi":
        head += (
            " (a plugin cannot load modules at run time: import every module it uses at the"
            " top level of the plugin's module, so that the build freezes it in)"
        )
    return head + "\n" + text
