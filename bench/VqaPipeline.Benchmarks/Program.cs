using VqaPipeline.Benchmarks;

try
{
    return args switch
    {
        ["pipeline", ..] => await PipelineBench.RunAsync(args[1..]),
        ["search", ..] => await SearchBench.RunAsync(args[1..]),
        ["search-gateway", ..] => await GatewaySearchBench.RunAsync(args[1..]),
        ["scale", ..] => await ScaleBench.RunAsync(args[1..]),
        _ => Usage(),
    };
}
catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TimeoutException or IOException
                              or Npgsql.NpgsqlException or RabbitMQ.Client.Exceptions.BrokerUnreachableException)
{
    // A server that does not answer, a refused request, a missing setting: one line, not a stack trace.
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: VqaPipeline.Benchmarks pipeline FIXTURES_FOLDER [IMAGES (default 20)]");
    Console.Error.WriteLine("       VqaPipeline.Benchmarks search [ROWS (default 1000000)] [QUERIES (default 400)]");
    Console.Error.WriteLine("       VqaPipeline.Benchmarks search-gateway [ROWS (default 1000000)] [QUERIES (default 400)]");
    Console.Error.WriteLine("       VqaPipeline.Benchmarks scale IMAGES_FOLDER REPORT_FOLDER");
    return 2;
}
