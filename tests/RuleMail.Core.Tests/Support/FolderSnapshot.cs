namespace RuleMail.Core.Tests.Support;

/// <summary>
/// Every file under a folder (relative name and bytes), to prove a failed operation changed nothing. A key store's lock
/// file and its cache of derived facts are left out: they are not its content, and any read may write the cache.
/// </summary>
internal sealed class FolderSnapshot
{
    private FolderSnapshot(SortedDictionary<string, byte[]> files) => Files = files;

    public SortedDictionary<string, byte[]> Files { get; }

    public static FolderSnapshot Take(string root)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        if (Directory.Exists(root))
        {
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                var name = Path.GetRelativePath(root, file);
                if (name == ".rulemail.lock" || name.StartsWith(".rulemail-cache", StringComparison.Ordinal))
                {
                    continue;
                }

                files[name] = File.ReadAllBytes(file);
            }
        }

        return new FolderSnapshot(files);
    }

    /// <summary>Fails with the names of added, removed and changed files when <paramref name="after"/> differs.</summary>
    public void AssertSameAs(FolderSnapshot after)
    {
        var added = after.Files.Keys.Except(Files.Keys).ToList();
        var removed = Files.Keys.Except(after.Files.Keys).ToList();
        var changed = Files.Keys.Intersect(after.Files.Keys).Where(k => !Files[k].AsSpan().SequenceEqual(after.Files[k])).ToList();
        Assert.True(
            added.Count == 0 && removed.Count == 0 && changed.Count == 0,
            $"the folder changed: added [{string.Join(", ", added)}], removed [{string.Join(", ", removed)}], changed [{string.Join(", ", changed)}]");
    }
}

