#!/usr/bin/env bash
# Keycloak's SCIM Realm API walkthrough, step for step, with `scimd admin` in place of
# kcadm.sh. Start a fresh server first, giving it its first administrator:
#
#   SCIMD_ADMIN=admin SCIMD_ADMIN_PASSWORD=admin scimd serve
#
# then run this script (it needs `scimd` on PATH, curl and jq). SCIMD_URL points it at another
# server (default http://localhost:8080); `scimd admin` keeps its session in
# ~/.scimd/kcadm.config (or SCIMD_ADMIN_CONFIG).
set -euo pipefail
SERVER=${SCIMD_URL:-http://localhost:8080}
step() { printf '\n==> %s\n' "$*"; }

step "log in as the master realm's admin"
scimd admin config credentials --server "$SERVER" --realm master --user admin --password admin

step "create the realm, a confidential client with a service account, and its roles"
scimd admin create realms -s realm=myrealm -s enabled=true -s scimApiEnabled=true
scimd admin create clients -r myrealm -s clientId=scim-client -s serviceAccountsEnabled=true -s publicClient=false -s secret=secret
scimd admin add-roles -r myrealm --uusername service-account-scim-client --cclientid realm-management --rolename manage-users
scimd admin add-roles -r myrealm --uusername service-account-scim-client --cclientid realm-management --rolename view-realm

step "get an access token for the client (client credentials)"
ACCESS_TOKEN=$(curl -sf -X POST "$SERVER/realms/myrealm/protocol/openid-connect/token" \
  -H "Content-Type: application/x-www-form-urlencoded" \
  -d 'grant_type=client_credentials&client_id=scim-client&client_secret=secret' | jq -r .access_token)
SCIM="$SERVER/realms/myrealm/scim/v2"
AUTH=(-H "Authorization: Bearer $ACCESS_TOKEN" -H "Content-Type: application/scim+json")

step "create a user"
USER_JSON=$(curl -sf -X POST "$SCIM/Users" "${AUTH[@]}" -d '{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "bjensen",
  "name": {"givenName": "Barbara", "familyName": "Jensen"},
  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
  "active": true
}')
echo "$USER_JSON" | jq .
USER_ID=$(echo "$USER_JSON" | jq -r .id)

step "create a group"
GROUP_JSON=$(curl -sf -X POST "$SCIM/Groups" "${AUTH[@]}" -d '{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "displayName": "Tour Guides"
}')
echo "$GROUP_JSON" | jq .
GROUP_ID=$(echo "$GROUP_JSON" | jq -r .id)

step "add the user to the group (PATCH add members)"
curl -sf -X PATCH "$SCIM/Groups/$GROUP_ID" "${AUTH[@]}" -o /dev/null -w 'HTTP %{http_code}\n' -d '{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "add", "path": "members", "value": [{"value": "'"$USER_ID"'"}]}]
}'

step "the group lists the user, the user lists the group"
curl -sf "$SCIM/Groups/$GROUP_ID" "${AUTH[@]}" | jq '{displayName, members}'
curl -sf "$SCIM/Users/$USER_ID" "${AUTH[@]}" | jq '{userName, groups}'

step "discovery: ServiceProviderConfig, Schemas, ResourceTypes"
curl -sf "$SCIM/ServiceProviderConfig" "${AUTH[@]}" | jq -c '{schemas, patch, filter}'
curl -sf "$SCIM/Schemas" "${AUTH[@]}" | jq -c '[.Resources[].id]'
curl -sf "$SCIM/ResourceTypes" "${AUTH[@]}" | jq -c '[.Resources[] | {name, endpoint}]'
