// Snowflake's COPY / pipe PATTERN is a Java regular expression that must match the whole path
// (java.util.regex Matcher.matches()).  usage: java PatternCheck <pattern> < paths
// prints one line per path: "1 <path>" when the pattern matches it, "0 <path>" when not.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

public class PatternCheck {
    public static void main(String[] args) throws Exception {
        Pattern p = Pattern.compile(args[0]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isEmpty())
                continue;
            out.append(p.matcher(line).matches() ? "1 " : "0 ").append(line).append('\n');
        }
        System.out.print(out);
    }
}
