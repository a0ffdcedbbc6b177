namespace LuaXmpp.Sasl;

/// <summary>A known mechanism that may not be used here: its only step is a failure with a fixed condition.</summary>
internal sealed class RefusedMechanism(string name, string condition) : SaslServerMechanism
{
    public override string Name => name;

    public override Task<SaslStep> StepAsync(byte[] clientMessage) => Task.FromResult(SaslStep.Failure(condition));
}
