# The sentence walk of ``prose.pyx`` (included there): ``statement_sentences``, the pure
# twin's walk over an agent's text compiled, with the scans and line tests the module and
# ``prose_lines.pxi`` define.


def statement_sentences(
    str content, bint needs_names, bint spare, set seen, list lines=None
) -> list:
    """The sentences of an agent's ``content`` that may become digest lines (see the pure
    twin), each added to ``seen``; ``content``'s lines put in ``lines`` when it is given."""
    cdef list out = []
    cdef bint fenced = False
    cdef bint named_only = needs_names and not spare
    cdef bint skim = named_only and "```" not in content and "~~~" not in content
    cdef bint heading, plain_out, may_name, plain, concluding, instruction, narration, listy
    cdef bint single = False
    cdef Py_ssize_t ids, n_words, start, end, position
    cdef Py_ssize_t line_no = -1, k
    cdef str raw_line, stripped, first, line, sentence, lower, key, joined
    cdef list names
    cdef object instruction_at = _INSTRUCTION.match
    cdef object narration_at = _NARRATION.match
    cdef str pair
    cdef bint gated
    cdef bint offering = False  # under a line that offers the user a choice
    cdef Py_UCS4 last
    cdef list split = content.splitlines()
    if lines is not None:
        lines.extend(split)
    for raw_line in split:
        line_no += 1
        last = _last_visible(raw_line)
        if last != 0:  # (a blank line keeps the list going)
            if offering and (
                raw_line[0] == " " or raw_line[0] == "\t" or LIST_ITEM.match(raw_line) is not None
            ):
                continue  # an option put to the user (or its continuation): no result
            offering = (last == ":" or last == "?") and _may_offer(raw_line) and offers_choice(
                raw_line
            )
        if skim and not _may_name(raw_line):
            continue
        stripped = raw_line.lstrip()
        if stripped.startswith("```") or stripped.startswith("~~~"):  # a fence opens or closes
            fenced = not fenced
            continue
        if fenced or not stripped:
            continue
        first = stripped[0]
        if (first == "|" or first == "-" or first == "=") and _is_rule(stripped):
            continue
        if named_only and not _may_name(raw_line):  # no sentence here can count
            continue
        if first == "*" and _is_bold_title(stripped):  # a title
            continue
        heading = first == "#"
        line = stripped.lstrip("#") if heading else stripped
        if first == ">":  # a quoted line: what it says, without the marks (as the twin)
            line = line.lstrip("> ")
        if _bullet_start(line):
            line = _strip_bullet(line)
        if "**" in line:
            line = line.replace("**", "")
        line = line.strip()
        if line and line[0] > "\x7f":
            line = _MARKS.sub("", line)
        if _bullet_start(line):  # a bullet after the marks
            line = _strip_bullet(line)
        plain_out = named_only or (heading and not spare)
        k = -1
        for start, end in sentence_spans(line):
            k += 1
            position = line_no * 1000 + (k if k < 999 else 999)
            sentence = line[start:end].strip()
            may_name = _may_name(sentence)
            if plain_out and not may_name:
                continue
            if sentence.endswith(("?", "\uff1f")):  # asked (a wide mark too): not a result
                continue
            if spare:
                if may_name and _find(sentence, False):  # the main lines' business
                    continue
                names = []
            elif may_name:
                names = _find(sentence, True)
            else:
                names = []
            ids = len(names)
            if plain_out and not ids:
                continue
            n_words = _count_words(sentence, &single)  # len(sentence.split()), no copies
            if ids < 2 and n_words < 4:  # short lines count when they relate names
                continue
            lower = sentence.lower()
            if not ids and not spare and not _concludes(lower):
                continue
            joined = sentence if single else " ".join(sentence.split())
            key = lower.rstrip(".!:;")
            if single:  # single spaces: only a space the end mark left can go
                key = key.rstrip()
            else:
                key = " ".join(key.split())
            if key in seen:  # said already
                continue
            # the anchored patterns are tried only where their first letter can open them
            pair = lower[:2]
            gated = len(pair) == 2 and pair.isascii()
            instruction = (not gated or pair in _INSTRUCTION_PAIRS) and (
                instruction_at(sentence) is not None
            )
            if instruction and ids == 0:
                continue
            narration = (not gated or pair in _NARRATION_PAIRS) and (
                narration_at(sentence) is not None
            )
            if narration and ids == 0:
                continue
            plain = ids == 0 and (needs_names or heading)
            concluding = not plain and not instruction and _concludes(lower)
            if ids == 0 and (not concluding or needs_names or heading):
                if spare and not (heading or sentence.endswith(":")):
                    seen.add(key)
                    out.append((sentence, joined, n_words, names, False, False, False, position))
                continue
            if spare:
                continue
            if heading and (not concluding or lower.startswith(TITLE_QUESTIONS)):
                continue  # a title naming something ("## How `x` works"): no statement
            seen.add(key)
            listy = ids >= 3 and _other_words(sentence) < 3
            aside = narration or instruction
            out.append((sentence, joined, n_words, names, concluding, aside, listy, position))
    return out
