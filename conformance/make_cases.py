# Writes cases.json. Kept only to make the file easy to extend: run `python3 make_cases.py`.
import json

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CTX = {"realm": "acme", "base-url": "https://scim.example/realms/acme/scim/v2"}
# A `realm-config` record (WIT 0.2). The 0.1 runner gives a 0.1 engine the same content as one
# JSON object with camelCase keys, as scimd does (host/src/runtime/compat.rs).
ENTRA = {"compatibility": "entra", "max-results": 100, "max-operations": 1000, "max-payload-size": 1048576,
         "etag": True, "cursor-timeout": 3600, "profile": None, "extensions": None}
STRICT = dict(ENTRA, compatibility="strict")
PROFILE = dict(ENTRA, **{
    "max-results": 1000,
    "profile": json.dumps({"attributes": [
        {"name": "employeeNumber", "validations": {"pattern": {"pattern": "^[0-9]+$", "error-message": "must be digits"}},
         "annotations": {"kc.scim.schema.attribute": ENT + ":employeeNumber"}}]}),
    "extensions": json.dumps([{"schema": "urn:acme:params:scim:schemas:extension:hr:1.0:User", "resourceType": "User", "name": "HR",
                               "attributes": [{"name": "costCenter", "type": "string"},
                                              {"name": "badges", "type": "integer", "multiValued": True}]}]),
})
META = {"created": "2026-01-02T03:04:05.678Z", "last-modified": "2026-02-03T04:05:06.789Z",
        "version": 'W/"3"', "location": "https://scim.example/realms/acme/scim/v2/Users/u-1"}

def attr(name, *values):
    return {"name": name, "values": list(values)}

BJENSEN = {"tag": "user", "val": {
    "username": "bjensen", "email": "bjensen@example.com", "first-name": "Barbara", "last-name": "Jensen",
    "enabled": True,
    "attributes": [attr("scim.displayName", "Babs Jensen"), attr("scim.title", "Tour Guide"),
                   attr("scim.emails.value", "bjensen@example.com", "babs@home.example"),
                   # A multi-valued complex attribute is stored one JSON object per value.
                   attr("scim.emails", json.dumps({"value": "bjensen@example.com", "type": "work", "primary": True}),
                        json.dumps({"value": "babs@home.example", "type": "home"}))]}}
STORED = {"id": "u-1", "model": BJENSEN, "meta": META}
GROUP_STORED = {"id": "g-1", "model": {"tag": "group", "val": {"name": "Tour Guides", "attributes": []}},
                "meta": dict(META, location="https://scim.example/realms/acme/scim/v2/Groups/g-1")}
ALL = {"attributes": [], "excluded-attributes": [], "include-relations": True}

def body(v):
    return json.dumps(v)

def patch(*ops):
    return body({"schemas": [PATCH], "Operations": list(ops)})

cases = [
    {"name": "describe-entra", "config": ENTRA, "calls": [{"method": "describe", "args": []}]},
    {"name": "describe-strict-with-profile", "config": dict(PROFILE, compatibility="strict"),
     "calls": [{"method": "describe", "args": []}]},
    {"name": "create-refuses-a-bad-config", "config": dict(ENTRA, profile="[1]"), "calls": []},
    {"name": "create-refuses-a-zero-limit", "since": "0.2", "config": dict(ENTRA, **{"max-results": 0}), "calls": []},
    {"name": "create-user-full", "config": ENTRA, "calls": [{"method": "create-resource", "args": [CTX, "user", body({
        "schemas": [USER, ENT], "userName": "bjensen", "externalId": "701984",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "displayName": "Babs Jensen", "active": "False",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "password": "t1meMa$heen",
        ENT: {"employeeNumber": "701984", "manager": "u-2", "department": "Tour Operations"}})]}]},
    {"name": "create-user-errors", "config": ENTRA, "calls": [
        {"method": "create-resource", "args": [CTX, "user", body({"schemas": [USER], "displayName": "no userName"})]},
        {"method": "create-resource", "args": [CTX, "user", '{"schemas": ["' + USER + '"], "userName": "x",']},
        {"method": "create-resource", "args": [CTX, "user", body({"schemas": [USER], "userName": 42})]},
        {"method": "create-resource", "args": [CTX, "user", body({"schemas": [USER], "userName": "x", "emails": [{"type": "work"}]})]},
        {"method": "create-resource", "args": [CTX, "group", body({"schemas": [GROUP]})]},
    ]},
    {"name": "strict-refuses-entra-quirks", "config": STRICT, "calls": [
        {"method": "create-resource", "args": [CTX, "user", body({"schemas": [USER], "userName": "x", "active": "True"})]},
        {"method": "create-resource", "args": [CTX, "user", body({"schemas": [USER], "userName": "x", "nickname": None, "unknownThing": 1})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "Replace", "path": "title", "value": "x"})]},
    ]},
    {"name": "create-group-with-members", "config": ENTRA, "calls": [{"method": "create-resource", "args": [CTX, "group", body({
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"],
        "displayName": "Tour Guides", "externalId": "tg",
        "members": [{"value": "u-1"}, {"value": "g-2", "type": "Group"}]})]}]},
    {"name": "patch-user-entra-shapes", "config": ENTRA, "calls": [
        {"method": "patch", "args": [CTX, STORED, patch(
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"title": "Lead Guide", "name.givenName": "Babs", ENT + ":department": "Ops"}},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "barbara@example.com"},
            {"op": "Replace", "path": 'addresses[type eq "work"].locality', "value": "Hollywood"},
            {"op": "Add", "path": ENT + ":manager", "value": "u-9"})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "remove", "path": 'emails[type eq "home"]'})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "Replace", "path": 'emails[type eq "work"].value', "value": ""})]},
    ]},
    # A member's display is the client's: passed to the host with the member, given back as is.
    {"name": "group-member-display", "since": "0.2", "config": ENTRA, "calls": [
        {"method": "create-resource", "args": [CTX, "group", body({"schemas": [GROUP], "displayName": "VPs",
            "members": [{"value": "u-1", "display": "VP"}, {"value": "u-2"}]})]},
        {"method": "render-relations", "args": [CTX, "group", [{"id": "u-1", "kind": "user", "display": "VP", "indirect": False},
                                                               {"id": "u-2", "kind": "user", "display": None, "indirect": False}], ALL]}]},
    # A whole extension addressed by its URN as the path (since the 0.2 build).
    {"name": "patch-extension-urn-path", "since": "0.2", "config": STRICT, "calls": [
        {"method": "patch", "args": [CTX, STORED, patch({"op": "add", "path": ENT, "value": {"employeeNumber": "42"}})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "remove", "path": ENT})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "replace", "path": ENT, "value": "x"})]}]},
    # Behaviour of the default engine since the 0.2 build (the 0.1 fixture predates it).
    {"name": "patch-remove-active", "since": "0.2", "config": ENTRA, "calls": [
        {"method": "patch", "args": [CTX, STORED, patch({"op": "remove", "path": "active"})]}]},
    {"name": "patch-errors-change-nothing", "config": ENTRA, "calls": [
        {"method": "patch", "args": [CTX, STORED, patch({"op": "remove", "path": "userName"})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "replace", "path": "emails[type eq]", "value": "x"})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "replace", "path": "id", "value": "x"})]},
        {"method": "patch", "args": [CTX, STORED, patch({"op": "move", "path": "title", "value": "x"})]},
        {"method": "patch", "args": [CTX, STORED, body({"Operations": []})]},
    ]},
    {"name": "patch-group-members", "config": ENTRA, "calls": [
        {"method": "patch", "args": [CTX, GROUP_STORED, patch({"op": "Add", "path": "members", "value": [{"value": "u-1"}, {"value": "u-2"}]})]},
        {"method": "patch", "args": [CTX, GROUP_STORED, patch({"op": "Remove", "path": "members", "value": [{"value": "u-2"}]})]},
        {"method": "patch", "args": [CTX, GROUP_STORED, patch({"op": "remove", "path": 'members[value eq "u-3"]'})]},
        {"method": "patch", "args": [CTX, GROUP_STORED, patch({"op": "replace", "path": "members", "value": [{"value": "u-4"}]},
                                                          {"op": "replace", "value": {"displayName": "Guides"}})]},
    ]},
    {"name": "replace-user", "config": ENTRA, "calls": [{"method": "replace", "args": [CTX, STORED, body({
        "schemas": [USER], "id": "ignored", "userName": "bjensen", "name": {"givenName": "Barbara"},
        "meta": {"version": 'W/"99"'}})]}]},
    {"name": "projection-and-render", "config": ENTRA, "calls": [
        {"method": "projection", "args": ["user", "userName,emails.value,groups", None]},
        {"method": "projection", "args": ["user", None, "emails,name.givenName"]},
        {"method": "projection", "args": ["user", "nosuch..attr", None]},
        {"method": "render", "args": [CTX, STORED, [{"id": "g-1", "kind": "group", "display": "Tour Guides", "indirect": False}], ALL]},
        {"method": "render", "args": [CTX, STORED, [], {"attributes": ["userName", "emails.value"], "excluded-attributes": [], "include-relations": False}]},
        {"method": "render", "args": [CTX, GROUP_STORED, [{"id": "u-1", "kind": "user", "display": "bjensen", "indirect": False}], ALL]},
    ]},
    {"name": "plan-query", "config": ENTRA, "calls": [
        {"method": "plan-query", "args": ["user", 'userName eq "bjensen" and (emails[type eq "work" and value co "@example.com"] or not (title pr))', "meta.lastModified", "descending"]},
        {"method": "plan-query", "args": ["user", 'meta.lastModified gt "2011-05-13T04:42:34.1234567+02:00"', None, None]},
        {"method": "plan-query", "args": ["user", 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984', None, None]},
        {"method": "plan-query", "args": ["group", 'displayName eq "Tour Guides" and members[value eq "u-1"]', None, None]},
        {"method": "plan-query", "args": ["user", None, None, None]},
        {"method": "plan-query", "args": ["user", 'userName eq', None, None]},
        {"method": "plan-query", "args": ["user", 'userName xx "a"', None, None]},
        {"method": "plan-query", "args": ["user", 'userName eq "a"', "nosuch", None]},
    ]},
    {"name": "matches", "config": ENTRA, "calls": [
        {"method": "matches", "args": ["user", 'emails[type eq "home" and value ew "example"]', [{"stored": STORED, "relations": []}]]},
        {"method": "matches", "args": ["user", 'groups.value eq "g-1"', [{"stored": STORED, "relations": [{"id": "g-1", "kind": "group", "display": None, "indirect": False}]}, {"stored": STORED, "relations": []}]]},
        {"method": "matches", "args": ["user", 'title co', [{"stored": STORED, "relations": []}]]},
    ]},
    {"name": "parse-search", "config": ENTRA, "calls": [
        {"method": "parse-search", "args": [body({"schemas": [SEARCH], "filter": 'userName sw "b"', "attributes": ["userName", "emails"],
                                                  "sortBy": "userName", "sortOrder": "ascending", "startIndex": 2, "count": 10})]},
        {"method": "parse-search", "args": [body({"schemas": [SEARCH], "count": "ten"})]},
        {"method": "parse-search", "args": ["[]"]},
    ]},
    {"name": "profile-and-extension", "config": PROFILE, "calls": [
        {"method": "create-resource", "args": [CTX, "user", body({
            "schemas": [USER, ENT, "urn:acme:params:scim:schemas:extension:hr:1.0:User"], "userName": "hr",
            ENT: {"employeeNumber": "42"},
            "urn:acme:params:scim:schemas:extension:hr:1.0:User": {"costCenter": "CC-7", "badges": [1, 2]}})]},
        {"method": "create-resource", "args": [CTX, "user", body({"schemas": [USER, ENT], "userName": "hr", ENT: {"employeeNumber": "4x2"}})]},
        {"method": "create-resource", "args": [CTX, "user", body({"schemas": [USER], "userName": "hr",
            "urn:acme:params:scim:schemas:extension:hr:1.0:User": {"badges": ["one"]}})]},
        {"method": "plan-query", "args": ["user", 'urn:acme:params:scim:schemas:extension:hr:1.0:User:costCenter eq "CC-7"', None, None]},
        {"method": "plan-query", "args": ["user", 'employeeNumber eq "42"', None, None]},
    ]},
    # Since 0.2: a user's groups, direct and indirect (RFC 7643 §4.1.2).
    {"name": "user-indirect-groups", "since": "0.2", "config": ENTRA, "calls": [
        {"method": "render", "args": [CTX, STORED, [
            {"id": "g-1", "kind": "group", "display": "Tour Guides", "indirect": False},
            {"id": "g-0", "kind": "group", "display": "Staff", "indirect": True}], ALL]},
    ]},
    # Since 0.2: queries at the server root, where another type's attributes are absent.
    {"name": "root-queries", "since": "0.2", "config": STRICT, "calls": [
        {"method": "plan-root-query", "args": ["group", 'userName eq "a" or displayName eq "g"', "userName", None]},
        {"method": "plan-root-query", "args": ["user", "not (members pr)", None, None]},
        {"method": "plan-root-query", "args": ["user", "shoeSize eq 7", None, None]},
        {"method": "matches-at-root", "args": ["user", 'members pr or userName eq "bjensen"', [{"stored": STORED, "relations": []}]]},
    ]},
    # Since 0.2: bulk requests, read into operations with their bulkId references; a malformed
    # operation is refused alone, a request over the limits as a whole.
    {"name": "parse-bulk", "since": "0.2", "config": STRICT, "calls": [
        {"method": "parse-bulk", "args": [body({"schemas": [BULK], "failOnErrors": 2, "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "alice"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:u"}]}},
            {"method": "PATCH", "path": "/Groups/bulkId:g", "version": 'W/"1"',
             "data": {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members"}]}},
            {"method": "DELETE", "path": "/Users/u-1"},
            {"method": "GET", "path": "/Users", "bulkId": "x"},
            {"method": "PUT", "path": "/Users/u-1", "data": {"schemas": [USER], "userName": "a", "nickName": "bulkId:nope"}},
            {"method": "POST", "path": "/Users/u-1", "bulkId": "y", "data": {"schemas": [USER], "userName": "b"}},
        ]})]},
        {"method": "parse-bulk", "args": [body({"Operations": []})]},
        {"method": "parse-bulk", "args": [body({"schemas": [BULK], "Operations": [
            {"method": "DELETE", "path": "/Users/1", "bulkId": "d"}, {"method": "DELETE", "path": "/Users/2", "bulkId": "d"}]})]},
    ]},
    {"name": "parse-bulk-limits", "since": "0.2", "config": dict(ENTRA, **{"max-operations": 2}), "calls": [
        {"method": "parse-bulk", "args": [body({"Operations": [{"method": "delete", "path": "users/1"}]})]},
        {"method": "parse-bulk", "args": [body({"schemas": [BULK], "Operations": [
            {"method": "DELETE", "path": "/Users/1"}, {"method": "DELETE", "path": "/Users/2"}, {"method": "DELETE", "path": "/Users/3"}]})]},
    ]},
    # Since 0.2: a page in one call, a minimal item, and a group framed around streamed members.
    {"name": "render-page-and-frames", "since": "0.2", "config": ENTRA, "calls": [
        {"method": "render-page", "args": [CTX, [
            {"stored": STORED, "relations": [{"id": "g-1", "kind": "group", "display": "Tour Guides", "indirect": False}], "minimal": False},
            {"stored": STORED, "relations": [], "minimal": True},
            {"stored": GROUP_STORED, "relations": [{"id": "u-1", "kind": "user", "display": "bjensen", "indirect": False}], "minimal": False},
        ], ALL]},
        {"method": "render-frame", "args": [CTX, {"stored": GROUP_STORED, "relations": [], "minimal": False}, ALL]},
        {"method": "render-frame", "args": [CTX, {"stored": GROUP_STORED, "relations": [], "minimal": True}, ALL]},
        {"method": "render-frame", "args": [CTX, {"stored": GROUP_STORED, "relations": [], "minimal": False},
                                             {"attributes": ["displayName"], "excluded-attributes": [], "include-relations": False}]},
        {"method": "render-relations", "args": [CTX, "group", [{"id": "u-1", "kind": "user", "display": "bjensen", "indirect": False},
                                                               {"id": "g-2", "kind": "group", "display": "Sub", "indirect": False}], ALL]},
        {"method": "render-relations", "args": [CTX, "group", [{"id": "u-1", "kind": "user", "display": "bjensen", "indirect": False}],
                                                {"attributes": ["members.value"], "excluded-attributes": [], "include-relations": True}]},
    ]},
]

with open("cases.json", "w") as f:
    json.dump({"version": "scim:engine@0.2.0", "cases": cases}, f, indent=1)
    f.write("\n")
