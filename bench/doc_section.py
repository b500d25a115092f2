"""Writing one generated section of BENCHMARKS.md in place: the lines from
`begin` (a heading's start) up to the `end` marker are replaced; a section not
there yet goes before the hand-written reading of the figures."""

READING = "## Reading these figures"


def splice(doc_path, begin, end, lines):
    with open(doc_path) as f:
        doc = f.read()
    section = "\n".join(list(lines) + [end])
    if begin in doc:
        head, rest = doc.split(begin, 1)
        doc = head + section + rest.split(end, 1)[1]
    else:
        head, rest = doc.split(READING, 1)
        doc = head + section + "\n\n" + READING + rest
    with open(doc_path, "w") as f:
        f.write(doc)
