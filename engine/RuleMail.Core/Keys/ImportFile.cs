namespace RuleMail.Keys;

/// <summary>A file to import: its name (for messages) and its bytes.</summary>
public sealed record ImportFile(string Name, byte[] Content)
{
    public static ImportFile Read(string path)
    {
        try
        {
            return new ImportFile(path, File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyStoreException($"{path}: cannot read the file: {e.Message}", e);
        }
    }
}
