namespace LuaXmpp.Tls;

/// <summary>A certificate (PEM, possibly followed by its chain) and the file with its private key.</summary>
public sealed record CertificateFiles(string CertificatePath, string KeyPath);
