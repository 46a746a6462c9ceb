# Included by patterns.pyx: the per-session model (one PatternCounter per session, the sessions'
# table) behind the prefetcher's record_access, one native call per access.

cdef object _validate_session_id = validate_session_id
cdef object _check_item = _pure._check_item
cdef object _plain = _pure._plain


@cython.final
@cython.auto_pickle(False)
cdef class SessionModel:
    """One session's counter and its string <-> int interning (see the pure twin)."""

    # Read-only: the table's native path calls into ``counter`` and reads ``ids`` as a dict
    # without a check per access, so neither may be replaced (``None`` there would crash).
    cdef readonly PatternCounter counter
    cdef readonly dict ids
    cdef readonly list names
    cdef public int64_t used

    def __init__(self, PatternCounter counter not None):
        self.counter = counter
        self.ids = {}
        self.names = []
        self.used = 0

    cpdef int64_t intern(self, object item_id) except -1:
        cdef object number = self.ids.get(item_id)
        if number is None:
            number = len(self.names)
            self.ids[item_id] = number
            self.names.append(item_id)
        return number


@cython.final
@cython.auto_pickle(False)
cdef class SessionTable:
    """Session id -> :class:`SessionModel`, bounded (see the pure twin).

    ``record`` is the prefetcher's per-call path in one native call: a dict lookup for the
    session, one for the item, the counter's update; a session id is checked when its session
    is created, an item id when it is interned.
    """

    cdef dict _args
    cdef dict _sessions
    cdef int64_t _clock
    cdef public int64_t max_items
    cdef public int64_t max_sessions

    def __init__(self, dict counter_args not None, max_items=1 << 20, max_sessions=1024):
        args = dict(counter_args)
        PatternCounter(**args)  # bad parameters fail now, not at the first access
        cdef int64_t items = _check_int("max_items", max_items, 1, C_INT64_MAX)
        cdef int64_t sessions = _check_int("max_sessions", max_sessions, 1, C_INT64_MAX)
        # (all checked before any is set: a bad call again changes nothing)
        self._args = args
        self.max_items = items
        self.max_sessions = sessions
        self._sessions = {}
        self._clock = 0

    cdef SessionModel _new(self, object session_id):
        _validate_session_id(session_id)
        return self._place(session_id, None)

    cdef SessionModel _place(self, object session_id, SessionModel replaced):
        """A fresh model for ``session_id`` (checked), in place of ``replaced`` (None: a new
        session), evicting the least recent if full.

        Calls are atomic under the GIL only while no Python code runs: the id check and the log
        are Python, and so may be the finalizers the cyclic GC runs when an object is made. So
        the model is made first; then nothing runs Python, and the table is looked at afresh:
        a model another thread put there meanwhile is used, not replaced (that lost its
        accesses, or raised ``KeyError`` deleting a session that thread had deleted).
        """
        cdef SessionModel model = SessionModel(PatternCounter(**self._args))
        current = self._sessions.get(session_id)
        if current is not None:
            if current is not replaced:
                return <SessionModel>current
            del self._sessions[session_id]
        if len(self._sessions) >= self.max_sessions:
            self._evict()
        self._sessions[session_id] = model
        return model

    cdef int _evict(self) except -1:
        """Drop the least recently used model (the first of equals in the table's order), making
        no object on the way (see ``_place``)."""
        cdef Py_ssize_t pos = 0
        cdef PyObject *key
        cdef PyObject *value
        cdef PyObject *oldest = NULL
        cdef int64_t least = 0
        while PyDict_Next(self._sessions, &pos, &key, &value):
            if oldest == NULL or (<SessionModel>value).used < least:
                oldest = key
                least = (<SessionModel>value).used
        if oldest != NULL:
            del self._sessions[<object>oldest]
        return 0

    cdef SessionModel _reset(self, SessionModel full, object session_id):
        # (logged by the caller once the access is counted: logging runs Python code, where
        # another thread could reset or drop the session between the log and the delete)
        return self._place(session_id, full)

    cdef _log_reset(self, object session_id):
        log.info(
            "prefetch: session %s passed %d distinct items; model reset",
            session_id,
            self.max_items,
        )

    cpdef SessionModel model(self, object session_id):
        """The session's model for a write: created (evicting the least recent) if new."""
        cdef SessionModel model = None
        session_id = _plain(session_id)  # (a subclass as its text, as in the pure twin)
        if isinstance(session_id, str):
            model = <SessionModel>self._sessions.get(session_id)
        if model is None:
            model = self._new(session_id)
        self._clock += 1
        model.used = self._clock
        return model

    cpdef record(self, object session_id, object item_id):
        """Count one access of ``item_id`` in ``session_id``; a rejected call changes nothing."""
        cdef SessionModel model
        cdef PyObject* found
        if type(session_id) is str and type(item_id) is str:
            found = PyDict_GetItemWithError(self._sessions, session_id)
            if found != NULL:
                model = <SessionModel>found
                found = PyDict_GetItemWithError(model.ids, item_id)
                if found != NULL:  # the common call: a known session and a known item
                    self._clock += 1
                    model.used = self._clock
                    model.counter._record(PyLong_AsLongLong(<object>found))
                    return
        item_id = _check_item(item_id)  # (a str subclass as its text: see the pure twin)
        session_id = _plain(session_id)
        model = self.model(session_id)
        if self._count(model, session_id, item_id) is not model:
            self._log_reset(session_id)

    cdef SessionModel _count(self, SessionModel model, object session_id, object item_id):
        """Intern (resetting a session past ``max_items``) and count; the model now in use."""
        number = model.ids.get(item_id)
        if number is None:
            # (a loop: the model another thread made meanwhile may be full too)
            while item_id not in model.ids and <int64_t>len(model.names) >= self.max_items:
                model = self._reset(model, session_id)
                model.used = self._clock
            number = model.intern(item_id)
        model.counter._record(number)
        return model

    def record_many(self, session_id, item_ids) -> None:
        """Count a batch in order, as ``record`` one by one would; a bad batch changes nothing."""
        cdef SessionModel model, counted
        cdef Py_ssize_t resets = 0
        if isinstance(item_ids, str):
            raise ValidationError("record_many takes an iterable of item ids, not one string")
        try:
            checked = [_check_item(item_id) for item_id in item_ids]
        except TypeError as exc:
            raise ValidationError("record_many takes an iterable of item ids") from exc
        session_id = _plain(session_id)
        model = self.model(session_id)
        for item_id in checked:  # (no Python code runs here: the batch is atomic under the GIL)
            counted = self._count(model, session_id, item_id)
            if counted is not model:
                resets += 1
                model = counted
        for _ in range(resets):
            self._log_reset(session_id)

    def get(self, session_id):
        """The session's model, or None (a read: the session's place in the LRU order stays)."""
        return self._sessions.get(_plain(session_id))

    def forget(self, session_id) -> None:
        self._sessions.pop(_plain(session_id), None)

    def sessions(self) -> list:
        """The sessions with a model, least recently used first."""
        return [name for name, _ in sorted(self._sessions.items(), key=_used_of)]

    def __len__(self) -> int:
        return len(self._sessions)


def _used_of(pair):
    return (<SessionModel>pair[1]).used


__all__ = ["MAX_CONTEXTS", "MAX_ORDER", "MAX_RECENCY", "MAX_SUCCESSORS", "MAX_WINDOW",
           "ContextState", "PatternCounter", "SessionModel", "SessionTable", "as_item_id"]
MAX_RECENCY = _pure.MAX_RECENCY
MAX_ORDER = _pure.MAX_ORDER
MAX_WINDOW = _pure.MAX_WINDOW
MAX_SUCCESSORS = _pure.MAX_SUCCESSORS
MAX_CONTEXTS = _pure.MAX_CONTEXTS
ContextState = _pure.ContextState
as_item_id = _pure.as_item_id
