/** What a run needs: the question and the session's preferences (the routes' DTOs map onto it). */
export interface RunResearchDto {
  query: string;
  preferences?: Record<string, unknown>;
}
