namespace RuleMail.Host.State;

/// <summary>A ledger entry's identity: account, folder and the source key it was fetched under.</summary>
public sealed record LedgerKey(string Account, string Folder, string SourceKey);
