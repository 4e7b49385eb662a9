namespace RuleMail.Composer;

/// <summary>A composer button (✅ Sign or 🔒 Encrypt) for the chosen type: usable, on by default, and its hover text.</summary>
public sealed record SecurityButton(bool Enabled, bool Active, string Tooltip);
