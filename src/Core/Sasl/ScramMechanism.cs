using System.Security.Cryptography;
using System.Text;
using LuaXmpp.Accounts;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Sasl;

/// <summary>
/// Server side of SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel binding.
/// </summary>
/// <remarks>
/// An unknown user, or one without keys for this hash, gets a normal server-first-message with a
/// salt derived from the username and a per-process secret, and fails only after the proof: the
/// exchange looks the same whether or not the account exists (RFC 5802 §9, "user enumeration").
/// </remarks>
internal sealed class ScramMechanism : SaslServerMechanism
{
    private const int ServerNonceBytes = 24;
    private static readonly byte[] FakeSaltSecret = RandomNumberGenerator.GetBytes(32);

    private readonly ScramHash _hash;
    private readonly string _host;
    private readonly IAuthProvider _auth;
    private readonly string _serverNonce;
    private State _state;
    private bool _challenged;
    private ScramClientFirst? _first;
    private string? _serverFirst;
    private ScramCredentials? _credentials;

    public ScramMechanism(ScramHash hash, string host, IAuthProvider auth)
        : this(hash, host, auth, Convert.ToBase64String(RandomNumberGenerator.GetBytes(ServerNonceBytes)))
    {
    }

    /// <summary>For the RFC test vectors: a fixed server nonce part.</summary>
    internal ScramMechanism(ScramHash hash, string host, IAuthProvider auth, string serverNonce)
    {
        _hash = hash;
        _host = host;
        _auth = auth;
        _serverNonce = serverNonce;
    }

    private enum State
    {
        AwaitingClientFirst,
        AwaitingClientFinal,
        Done,
    }

    public override string Name => _hash == ScramHash.Sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";

    private string CombinedNonce => _first!.Nonce + _serverNonce;

    public override async Task<SaslStep> StepAsync(byte[] clientMessage)
    {
        switch (_state)
        {
            case State.AwaitingClientFirst when clientMessage.Length == 0 && !_challenged:
                // No initial response (RFC 6120 §6.4.2): an empty challenge asks for client-first.
                _challenged = true;
                return SaslStep.Challenge([]);
            case State.AwaitingClientFirst:
                _state = State.Done;
                var first = await ClientFirstAsync(clientMessage).ConfigureAwait(false);
                if (first.Outcome == SaslOutcome.Challenge) _state = State.AwaitingClientFinal;
                return first;
            case State.AwaitingClientFinal:
                _state = State.Done;
                return ClientFinal(clientMessage);
            default:
                throw new InvalidOperationException("The SCRAM exchange is over.");
        }
    }

    private async Task<SaslStep> ClientFirstAsync(byte[] clientMessage)
    {
        var text = DecodeUtf8(clientMessage);
        if (text is null) return SaslStep.Failure(SaslConditions.IncorrectEncoding);
        _first = ScramClientFirst.Parse(text, out var error);
        if (_first is null) return SaslStep.Malformed(error!);
        // RFC 5802 §5.1: the username is prepared with SASLprep; then it must be a valid localpart.
        var prepped = JidPrep.Saslprep(_first.Username);
        var user = prepped is null ? null : JidPrep.Nodeprep(prepped);
        if (user is null) return SaslStep.NotAuthorized();
        Username = user;
        if (!IsAcceptableAuthzid(_first.Authzid, user, _host)) return SaslStep.Failure(SaslConditions.InvalidAuthzid);
        // Unknown users get stand-in credentials no proof can match, so both paths do the same work.
        _credentials = await _auth.GetScramCredentialsAsync(user, _hash).ConfigureAwait(false) ?? FakeCredentials(user);
        _serverFirst = $"r={CombinedNonce},s={Convert.ToBase64String(_credentials.Salt)},i={_credentials.Iterations}";
        return SaslStep.Challenge(Encoding.UTF8.GetBytes(_serverFirst));
    }

    private SaslStep ClientFinal(byte[] clientMessage)
    {
        var text = DecodeUtf8(clientMessage);
        if (text is null) return SaslStep.Failure(SaslConditions.IncorrectEncoding);
        var final = ScramClientFinal.Parse(text, out var error);
        if (final is null) return SaslStep.Malformed(error!);
        // c= must carry our gs2 header (no channel binding data) and r= the combined nonce (§5.1).
        if (!final.ChannelBinding.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(_first!.Gs2Header)))
            return SaslStep.Failure(SaslConditions.NotAuthorized, "Channel binding data does not match.");
        if (final.Nonce != CombinedNonce) return SaslStep.Failure(SaslConditions.NotAuthorized, "Nonce does not match.");
        var authMessage = Encoding.UTF8.GetBytes($"{_first.Bare},{_serverFirst},{final.WithoutProof}");
        if (!ProofMatches(final.Proof, authMessage)) return SaslStep.NotAuthorized();
        var serverSignature = ScramKeys.Hmac(_hash, _credentials!.ServerKey, authMessage);
        return SaslStep.Success(Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature)));
    }

    /// <summary>ClientKey = proof XOR HMAC(StoredKey, AuthMessage); valid iff H(ClientKey) = StoredKey (§3).</summary>
    private bool ProofMatches(byte[] proof, byte[] authMessage)
    {
        var signature = ScramKeys.Hmac(_hash, _credentials!.StoredKey, authMessage);
        if (proof.Length != signature.Length) return false;
        var clientKey = new byte[proof.Length];
        for (int i = 0; i < proof.Length; i++) clientKey[i] = (byte)(proof[i] ^ signature[i]);
        return CryptographicOperations.FixedTimeEquals(ScramKeys.Digest(_hash, clientKey), _credentials.StoredKey);
    }

    /// <summary>
    /// The salt is stable per user and process, so repeated probes of one name see the same one;
    /// the keys are random, so no proof verifies.
    /// </summary>
    private ScramCredentials FakeCredentials(string user)
    {
        var salt = HMACSHA256.HashData(FakeSaltSecret, Encoding.UTF8.GetBytes(Name + "\0" + user))[..16];
        int length = ScramKeys.HashLength(_hash);
        return new ScramCredentials(_hash, salt, ScramKeys.DefaultIterations, RandomNumberGenerator.GetBytes(length), RandomNumberGenerator.GetBytes(length));
    }
}
