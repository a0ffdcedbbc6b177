namespace LuaXmpp.Bench.LoadGen.Client;

public enum SaslMechanism
{
    Plain,
    ScramSha1,
}

/// <summary>The server under test: where it listens (always 127.0.0.1), how to log in, and
/// which process to watch for CPU and memory (0 when unknown).</summary>
public sealed record Target(string Host, int Port, bool StartTls, SaslMechanism Sasl, int ServerPid, string Password);
