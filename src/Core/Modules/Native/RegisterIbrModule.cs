using LuaXmpp.Events;
using LuaXmpp.Hosting;
using LuaXmpp.Routing;
using LuaXmpp.Sessions;
using LuaXmpp.Storage;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// mod_register_ibr: XEP-0077 §3.1 account creation on an unauthenticated stream, behind
/// encryption unless c2s_require_encryption is off, with the "user-registering" veto event and
/// mod_register_limits' per-IP throttle (min_seconds_between_registrations).
/// </summary>
public sealed class RegisterIbrModule : INativeModule
{
    private readonly Dictionary<string, DateTimeOffset> _lastRegistration = new(StringComparer.Ordinal);
    private ModuleContext _module = null!;
    private RegistrationForm _form = null!;
    private IKeyValueStore _details = null!;
    private bool _requireEncryption;

    public string Name => "register_ibr";

    public void Load(ModuleContext module)
    {
        _module = module;
        _form = new RegistrationForm(module);
        _details = module.OpenKeyValue("account_details");
        _requireEncryption = module.GetOptionBoolean("c2s_require_encryption", module.GetOptionBoolean("require_encryption", true));
        module.Hook("stream-features", AddFeature);
        module.Hook("stanza/iq/jabber:iq:register:query", e => Handle(e));
        if (module.GetOption("min_seconds_between_registrations") is not null) module.Hook("user-registering", Throttle);
    }

    /// <summary>XEP-0077 §4: registration is advertised to unauthenticated streams only.</summary>
    private object? AddFeature(EventData e)
    {
        if (e.Origin is ClientSession { Type: "c2s_unauthed" } session && (!_requireEncryption || session.Secure)
            && e["features"] is XmlElement features)
        {
            features.AddChild("register", Namespaces.RegisterFeature);
        }
        return null;
    }

    private object? Handle(EventData e)
    {
        var stanza = e.Stanza!;
        if (e.Origin is not ClientSession session) return null;
        if (session.Type != "c2s_unauthed") return Reply(session, stanza, StanzaError.ServiceUnavailable());
        if (_requireEncryption && !session.Secure) return Reply(session, stanza, StanzaError.PolicyViolation("Encryption is required"));
        var query = stanza.FirstElement()!;
        if (stanza.GetAttribute("type") == "get")
        {
            var reply = StanzaReply.Result(stanza);
            reply.AddChild(_form.Query());
            session.Send(reply);
            return true;
        }
        if (query.FirstElement() is { Name: "remove" }) return Reply(session, stanza, new StanzaError("auth", "registration-required"));
        var errors = new List<string>();
        var data = _form.Parse(query, errors);
        if (errors.Count > 0) return Reply(session, stanza, StanzaError.NotAcceptable(string.Join("\n", errors)));
        var username = JidPrep.Nodeprep(data["username"] ?? "");
        var password = data["password"]!;
        if (string.IsNullOrEmpty(username)) return Reply(session, stanza, StanzaError.NotAcceptable("The requested username is invalid."));
        data.Remove("username");
        data.Remove("password");
        return AsyncHandler.Run(_module, e, () => RegisterAsync(session, stanza, username, password, data));
    }

    private static object Reply(Session session, XmlElement stanza, StanzaError error)
    {
        session.Send(StanzaReply.Error(stanza, error));
        return true;
    }

    private async Task RegisterAsync(ClientSession session, XmlElement stanza, string username, string password, Dictionary<string, string?> additional)
    {
        var host = _module.Host.Name;
        var registering = new EventData(session);
        registering["username"] = username;
        registering["password"] = password;
        registering["host"] = host;
        registering["ip"] = session.Connection?.RemoteAddress;
        registering["session"] = session;
        registering["allowed"] = true;
        // Handlers may wait (mod_invites_register reads and spends the invite), as in Prosody's runner.
        var events = _module.Host.Events;
        await events.FireAsync("user-registering", registering);
        if (registering["allowed"] is false)
        {
            Reply(session, stanza, VetoError(registering));
            return;
        }
        var auth = _module.Server.Auth(host);
        if (await auth.UserExistsAsync(username))
        {
            if (registering["allow_reset"] as string == username && await auth.SetPasswordAsync(username, password))
            {
                await events.FireAsync("user-password-reset", registering);
                session.Send(StanzaReply.Result(stanza));
            }
            else Reply(session, stanza, StanzaError.Conflict("The requested username already exists."));
            return;
        }
        if (!await auth.CreateUserAsync(username, password))
        {
            Reply(session, stanza, StanzaError.Conflict("The requested username already exists."));
            return;
        }
        if (!await SaveDetailsAsync(username, additional))
        {
            await auth.DeleteUserAsync(username);
            Reply(session, stanza, StanzaError.InternalServerError("Failed to write data to disk."));
            return;
        }
        session.Send(StanzaReply.Result(stanza));
        _module.Log.Info($"User account created: {username}@{host}");
        var registered = new EventData(session);
        registered["username"] = username;
        registered["host"] = host;
        registered["source"] = "mod_register";
        registered["session"] = session;
        await events.FireAsync("user-registered", registered);
    }

    /// <summary>The error a vetoing handler left on the event (error = StanzaError, or Prosody's COMPAT fields).</summary>
    private static StanzaError VetoError(EventData e)
    {
        if (e["error"] is StanzaError error) return error;
        // A util.error object from a Lua handler (mod_register_limits): its type, condition and text.
        if (e["error"] is DataTable lua && lua.GetString("condition") is { } condition)
            return new StanzaError(lua.GetString("type") ?? "modify", condition, lua.GetString("text"));
        return new StanzaError(e["error_type"] as string ?? "modify", e["error_condition"] as string ?? "not-acceptable", e["reason"] as string);
    }

    private async Task<bool> SaveDetailsAsync(string username, Dictionary<string, string?> additional)
    {
        var details = new DataTable { ["registered"] = _module.Server.Loop.Time.GetUtcNow().ToUnixTimeSeconds() };
        foreach (var (key, value) in additional)
        {
            if (value is not null) details[key] = value;
        }
        try
        {
            await _details.SetAsync(username, details);
            return true;
        }
        catch (Exception ex)
        {
            _module.Log.Error($"Could not store account details of {username}", ex);
            return false;
        }
    }

    /// <summary>mod_register_limits: one registration per IP per min_seconds_between_registrations.</summary>
    private object? Throttle(EventData e)
    {
        if (e["ip"] is not string ip || e["allowed"] is false) return null;
        var period = TimeSpan.FromSeconds(_module.GetOptionNumber("min_seconds_between_registrations", 0));
        var now = _module.Server.Loop.Time.GetUtcNow();
        if (_lastRegistration.TryGetValue(ip, out var last) && now - last < period)
        {
            e["allowed"] = false;
            e["error"] = new StanzaError("wait", "policy-violation", "Too many registrations from this IP address recently");
            return null;
        }
        _lastRegistration[ip] = now;
        return null;
    }
}
