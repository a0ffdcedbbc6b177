namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>Something that must not happen, with the inputs that may have caused it (one when the blame is exact).</summary>
public sealed record StanzaFuzzFinding(string Kind, string Detail, IReadOnlyList<StanzaFuzzInput> Inputs)
{
    public override string ToString()
    {
        var inputs = string.Join("\n", Inputs.TakeLast(8).Select(i =>
            $"  input {i.Index} slot {i.Slot} {i.Label} ({i.Bytes.Length} bytes): {Convert.ToBase64String(i.Bytes.Length > 2048 ? i.Bytes[..2048] : i.Bytes)}"));
        return $"FINDING {Kind}: {Detail}\n{inputs}" + (Inputs.Count > 8 ? $"\n  (and {Inputs.Count - 8} earlier inputs of the batch)" : "");
    }
}
