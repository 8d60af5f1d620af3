namespace VqaPipeline.Ml.Checkpoints.Hub;

/// <summary>Why a Hugging Face Hub look-up or download failed.</summary>
public enum HubErrorReason
{
    /// <summary>The text is neither a Hub id (<c>org/name[@revision]</c>) nor an existing folder.</summary>
    InvalidModelId,
    /// <summary>The Hub has no such repository (404, or <c>X-Error-Code: RepoNotFound</c>).</summary>
    RepositoryNotFound,
    /// <summary>The repository has no such branch, tag or commit.</summary>
    RevisionNotFound,
    /// <summary>The repository exists but lacks a file the model needs, or has it in an unusable form.</summary>
    FileNotFound,
    /// <summary>The repository is private or gated (401/403): a token with access is needed.</summary>
    AuthenticationRequired,
    /// <summary>Offline mode is on and the file is not in the local cache.</summary>
    NotInCache,
    /// <summary>The server could not be reached, answered with an error, or the transfer broke off.</summary>
    DownloadFailed,
    /// <summary>The server did not answer within <see cref="HubOptions.Timeout"/>.</summary>
    Timeout,
}

/// <summary>A Hub look-up or download that failed; <see cref="Reason"/> says why, the message says what to do.</summary>
public sealed class HubException : VqaPipelineException
{
    public HubException(HubErrorReason reason, string message, Exception? inner = null) : base(message, inner)
    {
        Reason = reason;
    }

    public HubErrorReason Reason { get; }
}
