#!/usr/bin/env python3
"""Lints the crm.v1 schema for the rules the code generators depend on.

Usage: tools/check-schema (which runs: python3 tools/check_schema.py DESCRIPTOR_SET)
where DESCRIPTOR_SET comes from
  protoc -I Protos --descriptor_set_out=FILE --include_source_info Protos/crm/v1/*.proto
Needs the `protobuf` Python package. Exits 1 and lists every problem when a rule is broken.
"""
import re
import sys

from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto

# Type names that would shadow Swift, Foundation or common library types.
FORBIDDEN_TYPE_NAMES = set("""
Result Error Data Date Status Range Set Array String Optional Character Type Protocol Any Never Void
Bool Int Double Float Task Actor Hasher Codable Identifiable Equatable Hashable Sendable Duration
Instant Clock Dictionary Sequence Collection Substring Int32 Int64 UInt32 UInt64 UInt8 Self Notification
Locale Calendar TimeZone URL UUID Decimal Progress Operation Thread Process Host Bundle Stream Timer
Message Unit Selector
""".split())

# Field names that are keywords in C or Swift (or C++), or collide with generated members.
FORBIDDEN_FIELD_NAMES = set("""
default case class struct enum for in is as return operator protocol extension where self init subscript
repeat func import internal private public static switch throw throws try var let while do else if guard
break continue true false nil super char int long short signed unsigned float double const volatile
register auto extern union goto sizeof typedef inline restrict bool new delete template this
description hash_value debug_description type
associatedtype deinit fileprivate inout open rethrows some any await async catch defer fallthrough
package consume borrowing consuming convenience dynamic final indirect lazy mutating nonmutating
optional override required unowned weak willset didset get set
base unix linux errno major minor stdin stdout stderr
""".split())

# Swift keywords an enum case must not become once its prefix is stripped (warned, not fatal:
# backticks fix them, and gRPC's INTERNAL status code needs one).
SWIFT_KEYWORDS = set("""
default case class struct enum for in is as return operator protocol extension where self init subscript
repeat func import internal private public static switch throw throws try var let while do else if guard
break continue true false nil super associatedtype deinit fileprivate inout open rethrows some any
await catch defer fallthrough
""".split())

ZERO_VALUE_EXCEPTIONS = {"STATUS_CODE_OK"}  # gRPC's numbering puts OK at 0.

problems = []
warnings = []


def upper_snake(camel):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", camel).upper()


def lower_camel(snake):
    parts = snake.lower().split("_")
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def main():
    fds = descriptor_pb2.FileDescriptorSet()
    with open(sys.argv[1], "rb") as f:
        fds.ParseFromString(f.read())

    messages = {}   # full name -> DescriptorProto
    comments = {}   # (file, path tuple) -> leading comment
    elements = []   # (file, path tuple, label) needing a comment

    for fd in fds.file:
        for loc in fd.source_code_info.location:
            comments[(fd.name, tuple(loc.path))] = loc.leading_comments.strip()
        check_file(fd)
        prefix = "." + fd.package
        for i, m in enumerate(fd.message_type):
            walk_message(fd, m, prefix, (4, i), messages, elements)
        for i, e in enumerate(fd.enum_type):
            walk_enum(fd, e, (5, i), elements)
        for i, s in enumerate(fd.service):
            elements.append((fd.name, (6, i), "service " + s.name))
            for j, m in enumerate(s.method):
                elements.append((fd.name, (6, i, 2, j), "rpc %s.%s" % (s.name, m.name)))

    for fname, path, label in elements:
        if not comments.get((fname, path)):
            problems.append("%s: %s has no leading // comment" % (fname, label))

    check_recursion(messages)
    check_services(fds, messages)

    count = len(messages)
    if not 100 <= count <= 160:
        warnings.append("%d messages (aim for 100-160)" % count)
    for w in warnings:
        print("warning:", w)
    for p in problems:
        print("error:", p)
    print("%d files, %d messages, %d problems" % (len(fds.file), count, len(problems)))
    sys.exit(1 if problems else 0)


def check_file(fd):
    if fd.syntax != "proto3":
        problems.append("%s: syntax must be proto3" % fd.name)
    if fd.package != "crm.v1":
        problems.append("%s: package must be crm.v1" % fd.name)
    if fd.HasField("options"):
        problems.append("%s: file options are not allowed" % fd.name)
    if fd.extension:
        problems.append("%s: extensions are not allowed" % fd.name)
    for dep in fd.dependency:
        if not dep.startswith("crm/v1/"):
            problems.append("%s: import %s is outside crm/v1" % (fd.name, dep))
    if fd.name == "crm/v1/rpc.proto" and fd.dependency:
        problems.append("rpc.proto must import nothing")


def walk_message(fd, m, scope, path, messages, elements):
    full = scope + "." + m.name
    messages[full] = m
    elements.append((fd.name, path, "message " + m.name))
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", m.name):
        problems.append("%s: message name %s is not UpperCamelCase" % (fd.name, m.name))
    if m.name in FORBIDDEN_TYPE_NAMES:
        problems.append("%s: message name %s is forbidden" % (fd.name, m.name))
    if m.HasField("options"):
        problems.append("%s: %s has options (map<> or option)" % (fd.name, m.name))
    if m.extension or m.extension_range:
        problems.append("%s: %s declares extensions" % (fd.name, m.name))
    names = {f.name for f in m.field}
    for k, o in enumerate(m.oneof_decl):
        elements.append((fd.name, path + (8, k), "oneof %s.%s" % (m.name, o.name)))
        if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", o.name) or o.name in FORBIDDEN_FIELD_NAMES:
            problems.append("%s: oneof %s.%s has a bad or forbidden name" % (fd.name, m.name, o.name))
        if "".join(p.capitalize() for p in o.name.split("_")) in FORBIDDEN_TYPE_NAMES:
            problems.append("%s: oneof %s.%s would name a forbidden Swift type" % (fd.name, m.name, o.name))
        if o.name + "_case" in names:
            problems.append("%s: %s.%s_case collides with protobuf-c's oneof case" % (fd.name, m.name, o.name))
    lower_camels = {}
    for j, f in enumerate(m.field):
        label = "field %s.%s" % (m.name, f.name)
        elements.append((fd.name, path + (2, j), label))
        check_field(fd, m, f, names, label)
        lc = lower_camel(f.name)
        if lc in lower_camels:
            problems.append("%s: %s and %s map to one Swift name" % (fd.name, f.name, lower_camels[lc]))
        lower_camels[lc] = f.name
    for k, n in enumerate(m.nested_type):
        walk_message(fd, n, full, path + (3, k), messages, elements)
    for k, e in enumerate(m.enum_type):
        walk_enum(fd, e, path + (4, k), elements)


def check_field(fd, m, f, names, label):
    n = f.name
    if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", n):
        problems.append("%s: %s is not snake_case" % (fd.name, label))
    if n in FORBIDDEN_FIELD_NAMES:
        problems.append("%s: %s uses a forbidden name" % (fd.name, label))
    if n.startswith("n_") or n.startswith("has_"):
        problems.append("%s: %s may collide with protobuf-c's n_/has_ members" % (fd.name, label))
    if f.proto3_optional:
        problems.append("%s: %s uses proto3 optional" % (fd.name, label))
    if f.type == FD.TYPE_GROUP:
        problems.append("%s: %s is a group" % (fd.name, label))
    if f.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        problems.append("%s: %s is a float; use integers" % (fd.name, label))
    if f.HasField("options"):
        problems.append("%s: %s has options" % (fd.name, label))
    if f.HasField("default_value"):
        problems.append("%s: %s has a default value" % (fd.name, label))
    if n.endswith("_rupiah") and not (f.type == FD.TYPE_INT64 and f.label != FD.LABEL_REPEATED):
        problems.append("%s: %s ends in _rupiah but is not a single int64" % (fd.name, label))
    if "rupiah" in n and not n.endswith("_rupiah") and n != "rupiah_to_next_tier":
        problems.append("%s: %s names money but does not end in _rupiah" % (fd.name, label))
    if n.endswith("_ms") and not (f.type == FD.TYPE_INT64 or f.type_name == ".crm.v1.Int64Value"):
        problems.append("%s: %s ends in _ms but is not int64 or Int64Value" % (fd.name, label))


def walk_enum(fd, e, path, elements):
    elements.append((fd.name, path, "enum " + e.name))
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", e.name):
        problems.append("%s: enum name %s is not UpperCamelCase" % (fd.name, e.name))
    if e.name in FORBIDDEN_TYPE_NAMES:
        problems.append("%s: enum name %s is forbidden" % (fd.name, e.name))
    if e.HasField("options"):
        problems.append("%s: enum %s has options" % (fd.name, e.name))
    prefix = upper_snake(e.name) + "_"
    zero = [v for v in e.value if v.number == 0]
    if not zero or (zero[0].name != prefix + "UNSPECIFIED" and zero[0].name not in ZERO_VALUE_EXCEPTIONS):
        problems.append("%s: enum %s's 0 value must be %sUNSPECIFIED" % (fd.name, e.name, prefix))
    if e.value and e.value[0].number != 0:
        problems.append("%s: enum %s must list its 0 value first" % (fd.name, e.name))
    for j, v in enumerate(e.value):
        elements.append((fd.name, path + (2, j), "enum value " + v.name))
        if not v.name.startswith(prefix):
            problems.append("%s: %s lacks the prefix %s" % (fd.name, v.name, prefix))
            continue
        if v.HasField("options"):
            problems.append("%s: %s has options" % (fd.name, v.name))
        case = lower_camel(v.name[len(prefix):])
        if not re.fullmatch(r"[a-z][A-Za-z0-9]*", case):
            problems.append("%s: %s becomes the invalid Swift case %r" % (fd.name, v.name, case))
        elif case in SWIFT_KEYWORDS:
            warnings.append("%s: %s becomes the Swift keyword %r (needs backticks)" % (fd.name, v.name, case))


def check_recursion(messages):
    edges = {name: [f.type_name for f in m.field if f.type == FD.TYPE_MESSAGE]
             for name, m in messages.items()}
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {name: WHITE for name in messages}

    def visit(name, stack):
        colour[name] = GREY
        for nxt in edges[name]:
            if colour[nxt] == GREY:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [name, nxt]
                problems.append("recursive type: " + " -> ".join(c.split(".")[-1] for c in cycle))
            elif colour[nxt] == WHITE:
                visit(nxt, stack + [nxt])
        colour[name] = BLACK

    for name in messages:
        if colour[name] == WHITE:
            visit(name, [name])


def check_services(fds, messages):
    used = {}
    kinds = set()
    for fd in fds.file:
        for s in fd.service:
            for m in s.method:
                if m.HasField("options"):
                    problems.append("rpc %s.%s has options" % (s.name, m.name))
                kinds.add((m.client_streaming, m.server_streaming))
                for t, suffix in ((m.input_type, "Request"), (m.output_type, "Response")):
                    short = t.split(".")[-1]
                    if short not in (m.name + suffix, s.name + m.name + suffix):
                        problems.append("rpc %s.%s uses %s; expected %s%s" % (s.name, m.name, short, m.name, suffix))
                    if t in used:
                        problems.append("%s is used by both %s and %s.%s" % (short, used[t], s.name, m.name))
                    used[t] = "%s.%s" % (s.name, m.name)
    for kind in ((False, False), (False, True), (True, False), (True, True)):
        if kind not in kinds:
            problems.append("no method with client_streaming=%s server_streaming=%s" % kind)


if __name__ == "__main__":
    main()
