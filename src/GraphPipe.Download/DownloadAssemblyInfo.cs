// Project placeholder: the downloader stage lives in this assembly.
namespace GraphPipe.Download;
