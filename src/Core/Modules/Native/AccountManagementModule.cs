using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_user_account_management: XEP-0077 for an authenticated account: the registered form (§3.2),
/// password change (§3.3) and account removal (§3.2), answered before the streams are closed.
/// </summary>
public sealed class AccountManagementModule : INativeModule
{
    private ModuleContext _module = null!;

    public string Name => "user_account_management";

    public void Load(ModuleContext module)
    {
        _module = module;
        module.AddFeature(Namespaces.Register);
        module.Hook("iq/self/jabber:iq:register:query", Handle);
        if (module.GetOptionBoolean("registration_compat", true))
        {
            // COMPAT: older clients send the request to the server's JID.
            module.Hook("iq/host/jabber:iq:register:query", e =>
                e.Origin is ClientSession { Type: "c2s" } s && PresenceModule.BareOf(e.Stanza!.GetAttribute("to")) == s.Host ? Handle(e) : null);
        }
    }

    private object? Handle(EventData e)
    {
        if (e.Origin is not ClientSession { Username: { } user } session) return null;
        var stanza = e.Stanza!;
        var query = stanza.FirstElement()!;
        if (stanza.GetAttribute("type") == "get")
        {
            var reply = StanzaReply.Result(stanza);
            var q = reply.AddChild("query", Namespaces.Register);
            q.AddChild("registered");
            q.AddTextChild("username", user);
            q.AddChild("password");
            session.Send(reply);
            return true;
        }
        if (query.FirstElement() is { Name: "remove" }) return AsyncHandler.Run(_module, e, () => RemoveAsync(session, stanza, user));
        var username = query.ChildText("username");
        var password = query.ChildText("password");
        if (username is null || password is null || JidPrep.Nodeprep(username) != user)
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.BadRequest()));
            return true;
        }
        return AsyncHandler.Run(_module, e, () => ChangePasswordAsync(session, stanza, user, password));
    }

    private async Task ChangePasswordAsync(ClientSession session, XmlElement stanza, string user, string password)
    {
        if (!await _module.Server.Auth(_module.Host.Name).SetPasswordAsync(user, password))
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.InternalServerError()));
            return;
        }
        session.Send(StanzaReply.Result(stanza));
        var changed = new EventData();
        changed["username"] = user;
        changed["host"] = _module.Host.Name;
        changed["resource"] = session.Resource;
        await _module.Server.GlobalEvents.FireAsync("user-password-changed", changed);
    }

    /// <summary>
    /// Deletes the account as usermanager.delete_user does (auth, "user-deleted", then every
    /// store), replies first, then closes the account's streams with not-authorized.
    /// </summary>
    private async Task RemoveAsync(ClientSession session, XmlElement stanza, string user)
    {
        var host = _module.Host.Name;
        if (!await _module.Server.Auth(host).DeleteUserAsync(user))
        {
            session.Send(StanzaReply.Error(stanza, StanzaError.ServiceUnavailable()));
            return;
        }
        session.Send(StanzaReply.Result(stanza));
        _module.Log.Info($"User removed their account: {user}@{host}");
        var deleted = new EventData(session);
        deleted["username"] = user;
        deleted["host"] = host;
        deleted["session"] = session;
        // Handlers clean up what they keep for the user and may wait: the stores are purged after them.
        await _module.Server.GlobalEvents.FireAsync("user-deleted", deleted);
        await _module.Server.Storage.PurgeUserAsync(host, user);
        var deregistered = new EventData(session);
        deregistered["username"] = user;
        deregistered["host"] = host;
        deregistered["source"] = "mod_register";
        deregistered["session"] = session;
        await _module.FireEventAsync("user-deregistered", deregistered);
        if (_module.Server.Sessions.GetBare(user + "@" + host) is { } bare)
        {
            foreach (var s in bare.Sessions.Values.ToArray()) s.Close(StreamErrorCondition.NotAuthorized, "Account deleted");
        }
        session.Close(StreamErrorCondition.NotAuthorized, "Account deleted");
    }
}
