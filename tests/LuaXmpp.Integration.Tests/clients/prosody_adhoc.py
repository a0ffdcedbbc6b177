#!/usr/bin/python3
"""Prosody's mod_adhoc, mod_admin_adhoc, mod_invites, mod_invites_adhoc and
mod_invites_register with slixmpp (XEP-0050, XEP-0133, XEP-0401, XEP-0379).

Admin (--admin-jid): lists the host's commands (XEP-0050 §2.2) and runs "Add User"
(XEP-0133 §4.1) in two steps; the new account (--new-jid) then logs in.
User (--jid): lists its commands and runs "Create new contact invite"; a new client
(--invitee-jid) presents the invite's token (XEP-0401 §4: urn:xmpp:pars:0 preauth)
and registers in band (XEP-0077), logs in and finds the inviter in its roster.

Bad input: the user runs an admin command (forbidden), an unknown node
(item-not-found), a wrong token (forbidden), a registration without an invite
(refused: invite-only); the admin abandons an Add User session mid-way and
disconnects, then completes a fresh one; a mismatched password gets the command's
error note and creates nothing.
"""

import asyncio
import urllib.parse

import slixmpp
from slixmpp.xmlstream import ET

import xmpptest

COMMANDS = "http://jabber.org/protocol/commands"
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
DATA = "jabber:x:data"
ADD_USER = "http://jabber.org/protocol/admin#add-user"
INVITE = "urn:xmpp:invite#invite"
PARS = "urn:xmpp:pars:0"






async def command_nodes(client, host, t):
    query = ET.Element("{%s}query" % DISCO_ITEMS, {"node": COMMANDS})
    reply = await xmpptest.send_iq(client, "get", host, query, t)
    return [i.get("node") for i in reply.xml.iter("{%s}item" % DISCO_ITEMS)]


def submit(fields):
    x = ET.Element("{%s}x" % DATA, {"type": "submit"})
    for var, value in fields:
        field = ET.SubElement(x, "{%s}field" % DATA, {"var": var})
        ET.SubElement(field, "{%s}value" % DATA).text = value
    return x


async def execute(client, host, node, t, sessionid=None, action="execute", form=None):
    """One XEP-0050 request; returns (iq type, status, sessionid, notes, form fields, error)."""
    attrs = {"node": node, "action": action}
    if sessionid:
        attrs["sessionid"] = sessionid
    command = ET.Element("{%s}command" % COMMANDS, attrs)
    if form is not None:
        command.append(form)
    reply = await xmpptest.send_iq(client, "set", host, command, t)
    cmd = reply.xml.find("{%s}command" % COMMANDS)
    fields = {}
    notes = []
    if cmd is not None:
        for f in cmd.iter("{%s}field" % DATA):
            fields[f.get("var")] = f.findtext("{%s}value" % DATA)
        notes = [(n.get("type"), n.text) for n in cmd.findall("{%s}note" % COMMANDS)]
    return {"type": reply["type"], "status": cmd.get("status") if cmd is not None else None,
            "sessionid": cmd.get("sessionid") if cmd is not None else None,
            "notes": notes, "fields": fields, "error": xmpptest.condition(reply)}


async def login(args, jid, password):
    client = xmpptest.Client(jid, password)
    try:
        await xmpptest.open_session(args, client)
        return client
    except xmpptest.ScenarioFailure:
        await xmpptest.close(client)
        return None


async def admin_part(args, result, t):
    admin = await login(args, args.admin_jid, args.admin_password)
    host = admin.boundjid.domain
    result["admin_commands"] = await command_nodes(admin, host, t)
    # Abandoned: the form is shown, then the admin walks away (XEP-0050 §3.4 leaves its expiry to the server).
    abandoned = await execute(admin, host, ADD_USER, t)
    result["abandoned_status"] = abandoned["status"]
    await xmpptest.close(admin)
    admin = await login(args, args.admin_jid, args.admin_password)
    first = await execute(admin, host, ADD_USER, t)
    new_password = "pass-new"
    mismatch = await execute(admin, host, ADD_USER, t, first["sessionid"], "complete",
                             submit([("FORM_TYPE", "http://jabber.org/protocol/admin"), ("accountjid", args.new_jid),
                                     ("password", new_password), ("password-verify", "other")]))
    result["add_user_mismatch"] = {"status": mismatch["status"], "notes": [n[0] for n in mismatch["notes"]]}
    second = await execute(admin, host, ADD_USER, t)
    done = await execute(admin, host, ADD_USER, t, second["sessionid"], "complete",
                         submit([("FORM_TYPE", "http://jabber.org/protocol/admin"), ("accountjid", args.new_jid),
                                 ("password", new_password), ("password-verify", new_password)]))
    result["add_user"] = {"first": first["status"], "fields": sorted(first["fields"]),
                          "status": done["status"], "notes": done["notes"]}
    await xmpptest.close(admin)
    created = await login(args, args.new_jid, new_password)
    result["new_user_login"] = created is not None
    if created:
        await xmpptest.close(created)


async def user_part(args, result, t):
    user = await login(args, args.jid, args.password)
    host = user.boundjid.domain
    result["user_commands"] = await command_nodes(user, host, t)
    result["user_runs_admin_command"] = (await execute(user, host, ADD_USER, t))["error"]
    result["unknown_node"] = (await execute(user, host, "urn:example:no-such-command", t))["error"]
    invite = await execute(user, host, INVITE, t)
    result["invite"] = {"status": invite["status"], "uri": invite["fields"].get("uri")}
    await xmpptest.close(user)
    return invite["fields"].get("uri") or ""


def token_of(uri):
    query = urllib.parse.urlsplit(uri).query
    for part in query.split(";"):
        if part.startswith("preauth="):
            return part[len("preauth="):]
    return None


async def register(args, jid, password, token, t):
    """Opens a stream to register jid: presents token (if any) first, then XEP-0077."""
    client = xmpptest.Client(jid, password, plugins=("xep_0030", "xep_0004", "xep_0066", "xep_0077"))
    client._always_send_everything = True  # IQs before a session (see register.py)
    outcome = {}
    finished = asyncio.get_event_loop().create_future()

    async def on_register(_form):
        try:
            if token is not None:
                preauth = ET.Element("{%s}preauth" % PARS, {"token": token})
                reply = await xmpptest.send_iq(client, "set", client.boundjid.domain, preauth, t)
                outcome["preauth"] = reply["type"] if reply["type"] == "result" else xmpptest.condition(reply)
            iq = client.Iq()
            iq["type"] = "set"
            iq["register"]["username"] = client.boundjid.user
            iq["register"]["password"] = password
            try:
                await iq.send(timeout=t)
                outcome["registration"] = "ok"
            except slixmpp.exceptions.IqError as err:
                outcome["registration"] = err.iq["error"]["condition"]
        finally:
            if not finished.done():
                finished.set_result(True)
            if outcome.get("registration") != "ok":
                client.disconnect()

    client.add_event_handler("register", on_register)
    try:
        await xmpptest.open_session(args, client)
        outcome["logged_in"] = True
        roster = await xmpptest.roster_items(client, t)
        outcome["roster"] = {j: item["subscription"] for j, item in roster.items()}
    except xmpptest.ScenarioFailure:
        outcome["logged_in"] = False
    await xmpptest.close(client)
    return outcome


async def invite_part(args, uri, result, t):
    result["wrong_token"] = await register(args, args.stranger_jid, "pass-stranger", "not-a-token", t)
    result["no_invite"] = await register(args, args.stranger_jid, "pass-stranger", None, t)
    result["invitee"] = await register(args, args.invitee_jid, "pass-invitee", token_of(uri), t)
    # A token is good for one account only.
    result["token_reused"] = await register(args, args.stranger_jid, "pass-stranger", token_of(uri), t)


async def scenario(args, result):
    t = args.step_timeout
    await admin_part(args, result, t)
    uri = await user_part(args, result, t)
    await invite_part(args, uri, result, t)


if __name__ == "__main__":
    p = xmpptest.parser(__doc__)
    p.set_defaults(timeout=60.0)
    for name in ("admin", ""):
        prefix = "--" + name + "-" if name else "--"
        p.add_argument(prefix + "jid", required=True)
        p.add_argument(prefix + "password", required=True)
    p.add_argument("--new-jid", required=True, help="the account the admin adds")
    p.add_argument("--invitee-jid", required=True, help="the account registered with the invite")
    p.add_argument("--stranger-jid", required=True, help="an account that must not come into being")
    raise SystemExit(xmpptest.run(scenario, p.parse_args()))
