namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// An account the fuzz sessions log in as. An input in jabber:iq:register may delete the account or
/// change its password, so after one the account is "suspect" and the next login registers a fresh
/// generation instead of risking a failed authentication (failures are throttled per IP, for everyone).
/// </summary>
public sealed class FuzzUser(string prefix)
{
    public int Generation { get; private set; }

    public string Name => $"{prefix}g{Generation}";

    public bool Registered { get; set; }

    public bool Suspect { get; set; }

    /// <summary>Moves to a new, unregistered account name.</summary>
    public void NextGeneration()
    {
        Generation++;
        Registered = false;
        Suspect = false;
    }
}
