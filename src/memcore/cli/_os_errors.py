"""What the system said of a file, as memcore's messages say it (``/tmp/notes is not a folder
(on the way to /tmp/notes/memory.db)``, never ``[Errno 20] Not a directory: '...'``): the
command line's name for :mod:`memcore.os_errors`, where the library's messages find it too."""

from __future__ import annotations

from memcore.os_errors import describe_os_error, not_a_folder, os_reason, reworded

__all__ = ["describe_os_error", "not_a_folder", "os_reason", "reworded"]
