using System.Text.Json;

namespace RuleMail.Keys;

/// <summary>
/// The on-disk layout of a key store: a folder of plain files an admin can back up and version.
/// <code>
/// rulemail-keystore.json     format marker
/// smime/FPR.crt              certificate (PEM)
/// smime/FPR.key              its private key, encrypted PKCS#8 (PEM) under the store passphrase
/// crl/FPR.crl                certificate revocation list (PEM)
/// pgp/FPR.pub.asc            OpenPGP public key ring (armored)
/// pgp/FPR.sec.asc            OpenPGP secret key ring, protected by the store passphrase (armored)
/// pgp/FPR.json               settings of the key (domain alias)
/// .rulemail.lock             the writers' lock (empty)
/// .rulemail-cache-BUILD      facts derived from the files above, one file per RuleMail build (see KeyStoreCache)
/// </code>
/// Every write goes to a temporary file that is then renamed over the target, so a crash never leaves a
/// half-written file and readers never see one. Writers take an exclusive lock (see <see cref="Lock"/>).
/// </summary>
internal sealed class KeyStoreFolder(string root)
{
    public const string MarkerFile = "rulemail-keystore.json";

    /// <summary>The writers' lock, inside the store folder (see <see cref="Lock"/>).</summary>
    public const string LockFile = ".rulemail.lock";
    private const int Format = 1;

    public string Root { get; } = root;

    public string SmimeCertificate(string fingerprint) => Path.Combine(Root, "smime", fingerprint + ".crt");

    public string SmimeKey(string fingerprint) => Path.Combine(Root, "smime", fingerprint + ".key");

    public string Crl(string fingerprint) => Path.Combine(Root, "crl", fingerprint + ".crl");

    public string PgpPublic(string fingerprint) => Path.Combine(Root, "pgp", fingerprint + ".pub.asc");

    public string PgpSecret(string fingerprint) => Path.Combine(Root, "pgp", fingerprint + ".sec.asc");

    public string PgpSettings(string fingerprint) => Path.Combine(Root, "pgp", fingerprint + ".json");

    /// <summary>
    /// The files of one sub-folder with each of <paramref name="suffixes"/> (full paths, in ordinal order), from one
    /// listing of the folder: a store of thousands of entries is listed once per load, not once per file kind or file.
    /// A folder that is not there is empty; one that cannot be read is an error: <see cref="Directory.Exists"/> says
    /// false for both, and a store read as empty would judge every signature unknown and every encrypted message
    /// undecryptable, for good.
    /// </summary>
    /// <exception cref="KeyStoreException">The store folder or the sub-folder cannot be read.</exception>
    public Dictionary<string, SortedSet<string>> Listing(string folder, params string[] suffixes)
    {
        var path = Path.Combine(Root, folder);
        var found = suffixes.ToDictionary(s => s, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        try
        {
            foreach (var file in Directory.EnumerateFiles(path))
            {
                var name = Path.GetFileName(file.AsSpan());
                foreach (var suffix in suffixes)
                {
                    if (name.EndsWith(suffix, StringComparison.Ordinal) && name.Length > suffix.Length)
                    {
                        _ = found[suffix].Add(file);
                        break;
                    }
                }
            }

            return found;
        }
        catch (DirectoryNotFoundException) when (!Exists(Root))
        {
            throw new KeyStoreException($"{Root}: the key store folder is gone");
        }
        catch (DirectoryNotFoundException e)
        {
            // Linux reports a file or a dangling link in the folder's place as "not found" too: that is no empty folder.
            var entry = new FileInfo(path);
            if (entry.Exists || entry.LinkTarget is not null)
            {
                throw new KeyStoreException($"{path}: the key store's {folder} folder is not a folder (a file or a broken link stands in its place); restore it", e);
            }

            return found;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, e);
        }
    }

    /// <summary>Checks that the store folder itself can be listed, so "no files" means no files.</summary>
    /// <exception cref="KeyStoreException">It cannot.</exception>
    public void CheckReadable()
    {
        try
        {
            using var entries = Directory.EnumerateFileSystemEntries(Root).GetEnumerator();
            _ = entries.MoveNext();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(Root, e);
        }
    }

    /// <summary>Whether <paramref name="path"/> exists; unlike <see cref="File.Exists"/>, a path that cannot be looked at is an error, not "no".</summary>
    /// <exception cref="KeyStoreException">The path cannot be looked at (permissions).</exception>
    public static bool Exists(string path)
    {
        try
        {
            _ = File.GetAttributes(path);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, e);
        }
    }

    private static KeyStoreException Unreadable(string path, Exception e) =>
        new($"{path}: cannot read the key store ({e.Message.TrimEnd('.')}); give the user running rulemail read access to the whole key store folder", e);

    public static string FingerprintOf(string file, string suffix) =>
        Path.GetFileName(file.AsSpan())[..^suffix.Length].ToString();

    public void CheckFormat()
    {
        CheckReadable();
        var marker = Path.Combine(Root, MarkerFile);
        if (ReadIfPresent(marker) is not { } content)
        {
            return;
        }

        try
        {
            using var document = JsonDocument.Parse(content);
            if (!document.RootElement.TryGetProperty("format", out var format) || format.GetInt32() != Format)
            {
                throw new KeyStoreException($"{marker}: unknown key store format (this RuleMail reads format {Format})");
            }
        }
        catch (JsonException e)
        {
            throw new KeyStoreException($"{marker}: damaged key store marker: {e.Message}", e);
        }
    }

    /// <summary>
    /// Takes the writers' lock, waiting up to <paramref name="timeout"/> for another writer. The lock file is
    /// <see cref="LockFile"/> inside the store folder (created with the folder when need be), so it goes with the store
    /// and nothing is left behind elsewhere; it holds nothing and is never deleted (deleting a lock file races with a
    /// waiting writer). Readers take it too (<see cref="LockForReading"/>), so an import is seen whole or not at all.
    /// </summary>
    /// <exception cref="KeyStoreException">Another process holds the lock longer than <paramref name="timeout"/>, or the folder cannot be written.</exception>
    public IDisposable Lock(TimeSpan timeout)
    {
        try
        {
            Directory.CreateDirectory(Root);
            return Wait(timeout, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new KeyStoreException($"{Root}: cannot change the key store ({e.Message.TrimEnd('.')}); give the user running rulemail write access to the key store folder", e);
        }
    }

    /// <summary>
    /// The lock for a reader. A process that may only read the store (the folder is not its own) uses the lock file
    /// when it is there and it may open it; when it cannot, it reads without: it could not have taken part in a writer's
    /// lock anyway, and writes stay atomic file by file.
    /// </summary>
    public IDisposable? LockForReading(TimeSpan timeout)
    {
        try
        {
            return Wait(timeout, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or DirectoryNotFoundException)
        {
            try
            {
                return Wait(timeout, FileMode.Open, FileAccess.Read);
            }
            catch (Exception again) when (again is UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
        }
    }

    private FileStream Wait(TimeSpan timeout, FileMode mode, FileAccess access)
    {
        var path = Path.Combine(Root, LockFile);
        var waited = TimeSpan.Zero;
        var step = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                return new FileStream(path, mode, access, FileShare.None);
            }
            catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && waited < timeout)
            {
                Thread.Sleep(step);
                waited += step;
            }
            catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
            {
                throw new KeyStoreException($"{Root}: another process is changing the key store; try again", e);
            }
        }
    }

    public void EnsureMarker()
    {
        var marker = Path.Combine(Root, MarkerFile);
        if (!File.Exists(marker))
        {
            WriteAtomically(marker, System.Text.Encoding.UTF8.GetBytes($"{{\"format\": {Format}}}\n"), secret: false);
        }
    }

    /// <summary>Writes <paramref name="content"/> to a temporary file, flushes it to disk and renames it over <paramref name="path"/>.</summary>
    public static void WriteAtomically(string path, byte[] content, bool secret)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <summary>Reads a file another process may have just removed; null when it is gone.</summary>
    /// <exception cref="KeyStoreException">The file is there but cannot be read (permissions, I/O).</exception>
    /// <summary>No key file comes near this; a bigger one is not read into memory.</summary>
    private const long MaxFileBytes = 64L * 1024 * 1024;

    public static byte[]? ReadIfPresent(string path)
    {
        try
        {
            // One open, one fstat, one read: File.ReadAllBytes also takes and drops a shared flock per file, which in a
            // store of 20,000 entries is 40,000 system calls per load. Writers replace files by renaming, so a reader
            // never sees a half-written one and needs no lock on the file itself.
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            if (length > MaxFileBytes)
            {
                throw new KeyStoreException($"{path}: {length} bytes, larger than any key file ({MaxFileBytes / (1024 * 1024)} MB at most); remove it from the key store");
            }

            var content = new byte[length];
            var read = 0;
            while (read < content.Length)
            {
                var n = RandomAccess.Read(handle, content.AsSpan(read), read);
                if (n == 0)
                {
                    return content[..read];
                }

                read += n;
            }

            return content;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, e);
        }
    }
}
