using LuaXmpp.Configuration;

namespace LuaXmpp.Host.Http.Bosh;

/// <summary>
/// XEP-0124/XEP-0206 parameters, read as Prosody 0.12's mod_bosh reads them:
/// <c>bosh_max_inactivity</c> (60 s), <c>bosh_max_polling</c> (5 s, advertised),
/// <c>bosh_max_wait</c> (120 s, caps the client's <c>wait</c>), <c>consider_bosh_secure</c>,
/// <c>cross_domain_bosh</c> (CORS: on for any origin unless false; a list names the origins).
/// Prosody fixes <c>hold</c> at 1 and <c>requests</c> at 2 (its mod_bosh cannot change them),
/// and so do we: <c>bosh_max_requests</c> and <c>bosh_hold</c> are not read by Prosody either.
/// </summary>
public sealed record BoshSettings(
    string Path,
    TimeSpan MaxInactivity,
    TimeSpan MaxPolling,
    TimeSpan MaxWait,
    bool ConsiderSecure,
    bool CorsAnyOrigin,
    IReadOnlyList<string> CorsOrigins)
{
    public const string DefaultPath = "/http-bind";
    public const int Hold = 1;
    public const int Requests = 2;

    public static BoshSettings From(ServerConfig config)
    {
        var path = config.Get(null, "http_paths") is ConfigTable paths && ConfigValues.AsString(paths["bosh"]) is { } p ? p : DefaultPath;
        var cross = config.Get(null, "cross_domain_bosh");
        var origins = cross is ConfigTable ? ConfigValues.AsStringList(cross) : [];
        return new BoshSettings(
            path.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : DefaultPath,
            Seconds(config, "bosh_max_inactivity", 60),
            Seconds(config, "bosh_max_polling", 5),
            Seconds(config, "bosh_max_wait", 120),
            config.GetBoolean(null, "consider_bosh_secure", false),
            cross is null || ConfigValues.AsBoolean(cross) == true,
            origins);
    }

    private static TimeSpan Seconds(ServerConfig config, string key, double fallback) =>
        TimeSpan.FromSeconds(config.GetNumber(null, key) is { } n && n >= 0 ? n : fallback);
}
