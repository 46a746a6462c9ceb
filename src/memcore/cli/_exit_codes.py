"""The ``memcore`` command's exit statuses (a module of their own, so the hook's fast path can
use them without importing the rest of the command line)."""

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed pipe writer
